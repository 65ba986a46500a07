import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FakeRenderDeploy } from '../../fakes/render/model.js';
import { logsView } from '../../fakes/render/requests.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the fake Render log page', () => {
  it('gives newer lines later times even when the clock moves while the page is built', () => {
    let clock = 1_000_000;
    // Each reading 5 ms after the last: a page built across a pause.
    vi.spyOn(Date, 'now').mockImplementation(() => (clock += 5));
    const deploy = {
      logs: ['first', 'second', 'third', 'Error: out of memory'],
    } as unknown as FakeRenderDeploy;
    const page = logsView([deploy], 'srv-1', 20);
    const byTime = [...page.logs]
      .sort((a, b) => a.timestamp.localeCompare(b.timestamp))
      .map((l) => l.message);
    expect(byTime).toEqual(['first', 'second', 'third', 'Error: out of memory']);
  });
});
