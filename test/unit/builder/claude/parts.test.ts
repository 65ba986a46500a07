import { describe, expect, it } from 'vitest';
import { CLAUDE_MODELS, DEFAULT_CLAUDE_MODEL, pricingFor } from '../../../../src/builder/claude/models.js';
import { PROMPT_VERSION, SYSTEM_PROMPT } from '../../../../src/builder/claude/system-prompt.js';
import { parseToolCall, TOOLS, Workspace } from '../../../../src/builder/claude/tools.js';
import { costMicroUsd, UsageMeter } from '../../../../src/builder/claude/usage.js';
import { APP_LIMITS } from '../../../../src/builder/validate.js';

const PRICES = { inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75, cacheReadPerMTok: 0.3 };

describe('cost', () => {
  it('is micro-USD: a price per million tokens is micro-USD per token', () => {
    expect(
      costMicroUsd(
        { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
        PRICES,
      ),
    ).toBe(3_000_000);
    expect(
      costMicroUsd(
        { inputTokens: 1200, outputTokens: 3400, cacheReadTokens: 10_000, cacheWriteTokens: 2000 },
        PRICES,
      ),
    ).toBe(1200 * 3 + 3400 * 15 + 10_000 * 0.3 + 2000 * 3.75);
  });

  it('prices a request whose prompt is over a model’s threshold at its long-prompt tier, per request', () => {
    // Claude Haiku 5.5: $0.10 / $0.50 up to 100,000 prompt tokens, $0.50 / $2.50 above, on
    // every token of that request (https://platform.claude.com/docs/en/models/haiku-5-5/overview).
    const haiku = CLAUDE_MODELS['claude-haiku-5-5']!.pricing;
    const short = { inputTokens: 90_000, outputTokens: 1000, cacheReadTokens: 0, cacheWriteTokens: 0 };
    const long = { inputTokens: 60_000, outputTokens: 1000, cacheReadTokens: 50_000, cacheWriteTokens: 0 };
    expect(costMicroUsd(short, haiku)).toBe(90_000 * 0.1 + 1000 * 0.5);
    expect(costMicroUsd(long, haiku)).toBe(Math.round(60_000 * 0.5 + 1000 * 2.5 + 50_000 * 0.05));
    const meter = new UsageMeter(haiku);
    meter.add(short);
    meter.add(long);
    expect(meter.usage().costMicroUsd).toBe(costMicroUsd(short, haiku) + costMicroUsd(long, haiku));
  });

  it('prices an unknown model like the default one unless prices are given', () => {
    expect(pricingFor('claude-something-new')).toEqual(CLAUDE_MODELS[DEFAULT_CLAUDE_MODEL]!.pricing);
    expect(pricingFor('claude-something-new', PRICES)).toEqual(PRICES);
    expect(pricingFor('claude-haiku-5-5', PRICES)).toEqual(CLAUDE_MODELS['claude-haiku-5-5']!.pricing);
  });

  it('sums every request of a build', () => {
    const meter = new UsageMeter(PRICES);
    meter.add({ inputTokens: 10, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 2000 });
    meter.add({ inputTokens: 20, outputTokens: 50, cacheReadTokens: 2000, cacheWriteTokens: 0 });
    expect(meter.usage()).toEqual({
      inputTokens: 30,
      outputTokens: 150,
      cacheReadTokens: 2000,
      cacheWriteTokens: 2000,
      costMicroUsd: 30 * 3 + 150 * 15 + 2000 * 0.3 + 2000 * 3.75,
    });
  });
});

describe('tool calls', () => {
  it('parses complete input strictly', () => {
    expect(parseToolCall('write_file', '{"path":"a.js","content":"x","planned_files":3}')).toEqual({
      ok: true,
      call: { tool: 'write_file', path: 'a.js', content: 'x', plannedFiles: 3 },
    });
    expect(parseToolCall('finish', '{"title":" Tip\\n Calc ","summary":"done"}')).toEqual({
      ok: true,
      call: { tool: 'finish', title: 'Tip Calc', summary: 'done' },
    });
  });

  it('refuses cut-off JSON (which a lenient partial parser would accept as a shorter file)', () => {
    const r = parseToolCall('write_file', '{"path":"a.js","content":"half a fi');
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining('not valid JSON') });
  });

  it('refuses input of the wrong shape and unknown tools', () => {
    expect(parseToolCall('write_file', '{"path": 3}').ok).toBe(false);
    expect(parseToolCall('run_shell', '{}')).toMatchObject({
      ok: false,
      error: expect.stringContaining('no tool'),
    });
  });

  it('defines write_file, delete_file and finish', () => {
    expect(TOOLS.map((t) => t.name)).toEqual(['write_file', 'delete_file', 'finish']);
  });
});

describe('workspace', () => {
  it('starts from the previous files and applies writes and deletes', () => {
    const ws = new Workspace(APP_LIMITS, [{ path: 'a.js', content: '1' }]);
    expect(ws.write('b.js', '2').isError).toBe(false);
    expect(ws.delete('a.js').isError).toBe(false);
    expect(ws.delete('a.js').isError).toBe(true);
    expect(ws.list()).toEqual([{ path: 'b.js', content: '2' }]);
  });

  it('refuses unsafe paths, oversize files and one file too many, and records the paths', () => {
    const ws = new Workspace({ maxFiles: 2, maxFileBytes: 10, maxTotalBytes: 100 });
    expect(ws.write('../x', '1')).toMatchObject({ isError: true });
    expect(ws.write('big.js', 'x'.repeat(11)).text).toContain('at most 10 bytes');
    ws.write('a.js', '1');
    ws.write('b.js', '1');
    expect(ws.write('c.js', '1').text).toContain('limit');
    expect(ws.write('a.js', '2').isError).toBe(false); // replacing is fine
    expect(ws.refusals).toEqual([expect.objectContaining({ rule: 'unsafe-path', path: '../x' })]);
  });
});

describe('system prompt', () => {
  it('has a version and asks for an app that runs at once', () => {
    expect(PROMPT_VERSION).toMatch(/^claude-\d+$/);
    for (const phrase of ['npm start', 'PORT', 'built-in modules', 'finish', 'title']) {
      expect(SYSTEM_PROMPT).toContain(phrase);
    }
  });
});
