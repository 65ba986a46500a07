import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeClaude } from '../../../src/build/claude/doctor.js';
import { loadConfig } from '../../../src/config/index.js';
import { FakeAnthropic } from '../../fakes/anthropic/server.js';
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
  it('says the key works after one cheap call, without printing it', async () => {
    fake.reset();
    const r = await runCli(['doctor'], {
      REDIS_URL: TEST_REDIS_URL,
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: fake.url,
    });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(
      /✓ claude\s+ok\s+key works \(127\.0\.0\.1:\d+, e\.g\. model claude-sonnet-5-5; builds use claude-sonnet-5-5\)/,
    );
    expect(r.output).not.toContain(KEY);
    // One call: list one model. No message was created, nothing was billed.
    expect(fake.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['GET /v1/models']);
    expect(fake.requests[0]?.authorized).toBe(true);
  });

  it('says the key is rejected, exits non-zero, and prints neither key', async () => {
    fake.reset();
    const r = await runCli(['doctor'], {
      REDIS_URL: TEST_REDIS_URL,
      ANTHROPIC_API_KEY: WRONG,
      ANTHROPIC_BASE_URL: fake.url,
    });
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/✗ claude\s+rejected\s+key rejected by 127\.0\.0\.1:\d+ \(HTTP 401\)/);
    expect(r.output).not.toContain(WRONG);
    expect(r.output).not.toContain(KEY);
    expect(fake.requests).toHaveLength(1); // no retries of a rejected key
  });

  it('tells an unreachable API apart (the probe itself, without a CLI run)', async () => {
    const config = loadConfig({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' });
    const result = await probeClaude(config);
    expect(result.state).toBe('unreachable');
    expect(result.detail).toMatch(/^127\.0\.0\.1:1: /);
    expect(result.detail).not.toContain(KEY);
  });
});
