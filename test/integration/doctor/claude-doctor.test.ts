import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeClaude } from '../../../src/builder/claude/doctor.js';
import { loadConfig } from '../../../src/config/index.js';
import { FakeAnthropic, httpError, message, text } from '../../fakes/anthropic/server.js';
import { runCli } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';

const KEY = 'sk-ant-doctor-secret-key-0123456789';
const WRONG = 'sk-ant-doctor-wrong-key-9876543210';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await new FakeAnthropic({ apiKey: KEY }).start();
});
afterAll(async () => {
  await fake?.stop();
});

describe('spawnai doctor: claude', () => {
  it('says the key works, the model exists and a request in the builder’s shape is accepted, without printing the key', async () => {
    fake.reset();
    fake.script(message([text('ok')]));
    // Only the claude line, as an operator fixing a key would run it.
    const r = await runCli(['doctor', 'claude'], {
      REDIS_URL: TEST_REDIS_URL,
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: fake.url,
    });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(
      /✓ claude\s+ok\s+key works, model claude-sonnet-5-5 exists and accepts the builder's requests \(127\.0\.0\.1:\d+\)/,
    );
    expect(r.output).not.toContain(KEY);
    expect(r.output).not.toMatch(/database|redis|sandbox/);
    expect(fake.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /v1/models/claude-sonnet-5-5',
      'POST /v1/messages',
    ]);
    // The probe is the builder's shape: its tools, automatic tool choice, adaptive thinking, the effort.
    expect(fake.requests[1]?.body).toMatchObject({
      model: 'claude-sonnet-5-5',
      tool_choice: { type: 'auto' },
      thinking: { type: 'adaptive' },
      output_config: { effort: 'medium' },
      tools: [{ name: 'write_file' }, { name: 'delete_file' }, { name: 'finish' }],
    });
  }, 90_000); // a process start on a loaded machine; the CLI run has its own deadline

  it('says the key is rejected, and prints neither key (the probe itself, without a CLI run)', async () => {
    fake.reset();
    const config = loadConfig({ ANTHROPIC_API_KEY: WRONG, ANTHROPIC_BASE_URL: fake.url });
    const result = await probeClaude(config);
    expect(result.state).toBe('rejected');
    expect(result.detail).toMatch(/^key rejected by 127\.0\.0\.1:\d+ \(HTTP 401\)$/);
    expect(result.detail).not.toContain(WRONG);
    expect(fake.requests).toHaveLength(1); // no retries of a rejected key
  });

  it('says when the configured model does not exist (the probe itself)', async () => {
    fake.reset();
    const config = loadConfig({
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: fake.url,
      ANTHROPIC_MODEL: 'claude-sonnet-9',
    });
    const result = await probeClaude(config);
    expect(result).toMatchObject({
      state: 'rejected',
      detail: expect.stringContaining('model claude-sonnet-9 does not exist'),
    });
    expect(fake.messageRequests()).toHaveLength(0);
  });

  it('says when the API refuses the builder’s request shape, naming why', async () => {
    fake.reset();
    const config = loadConfig({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
    fake.script(
      httpError(400, 'invalid_request_error', {
        message: 'thinking.type: "adaptive" is not supported on this model',
      }),
    );
    const refused = await probeClaude(config);
    expect(refused).toMatchObject({ state: 'rejected' });
    expect(refused.detail).toContain('refused a request in the builder’s shape for claude-sonnet-5-5');
    expect(refused.detail).toContain('thinking.type');
  });

  it('probes a model the table does not know with the plain shape, and says how it is priced', async () => {
    fake.reset();
    const config = loadConfig({
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: fake.url,
      ANTHROPIC_MODEL: 'claude-opus-5-5',
    });
    fake.script(message([text('ok')]));
    const ok = await probeClaude(config);
    expect(ok).toMatchObject({ state: 'ok', detail: expect.stringContaining('not in the price table') });
    expect(fake.messageRequests()[0]?.body).not.toHaveProperty('thinking');
  });

  it('tells an unreachable API apart (the probe itself, without a CLI run)', async () => {
    const config = loadConfig({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' });
    const result = await probeClaude(config);
    expect(result.state).toBe('unreachable');
    expect(result.detail).toMatch(/^127\.0\.0\.1:1: /);
    expect(result.detail).not.toContain(KEY);
  });
});
