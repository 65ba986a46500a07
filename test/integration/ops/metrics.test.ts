import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { parsePrometheus, sample } from '../../helpers/prometheus.js';
import { WebChatClient } from '../../helpers/web-client.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('/metrics', () => {
  it('after one spawn through the web chat, shows it in the counters and histograms', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a todo list for the allotment');
    const sessionId = sent.spawn!.sessionId;
    await until('live', async () => (await t.app.repos.sessions.get(sessionId))?.status === 'live');
    await until('result posted', async () => (await client.cards(sessionId)).length === 2);

    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const m = parsePrometheus(await res.text());

    expect(sample(m, 'spawnai_spawn_requests_total', { platform: 'web', outcome: 'created' })).toBe(1);
    expect(
      sample(m, 'spawnai_http_request_duration_seconds_count', {
        route: '/api/web/messages',
        method: 'POST',
        status: '202',
      }),
    ).toBe(1);
    expect(
      sample(m, 'spawnai_queue_processing_seconds_count', { queue: 'spawn', outcome: 'completed' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'spawnai_queue_wait_seconds_count', { queue: 'spawn' })).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'spawnai_queue_jobs', { queue: 'spawn', state: 'waiting' })).toBe(0);
    expect(sample(m, 'spawnai_live_sessions', { provider: 'local', platform: 'web' })).toBe(1);
    expect(
      sample(m, 'spawnai_platform_calls_total', { platform: 'web', method: 'post', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(m, 'spawnai_platform_calls_total', { platform: 'web', method: 'update', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(m, 'spawnai_build_stage_duration_seconds_count', { stage: 'build', builder: 'offline' }),
    ).toBe(1);
    expect(
      sample(m, 'spawnai_build_stage_duration_seconds_count', { stage: 'deploy', builder: 'offline' }),
    ).toBe(1);
    expect(sample(m, 'spawnai_builds_total', { builder: 'offline', outcome: 'succeeded' })).toBe(1);
    expect(sample(m, 'spawnai_deploy_duration_seconds_count', { provider: 'local' })).toBe(1);
    expect(sample(m, 'spawnai_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(
      m.some((s) => s.name === 'spawnai_llm_tokens_total' || s.name.startsWith('spawnai_llm_cost_usd')),
    ).toBe(true);
    await client.act('stop', sessionId);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const token = 'metrics-token-for-the-scraper';
  let guarded: TestApp;
  beforeAll(async () => {
    guarded = await startTestApp({ METRICS_TOKEN: token });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  it('answers only the bearer token, and keeps /health and /ready open', async () => {
    const none = await fetch(`${guarded.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.text()).not.toContain('spawnai_');
    for (const wrong of ['Bearer nope', `Bearer ${token}x`, token, `Basic ${token}`]) {
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: wrong } })).status).toBe(401);
    }
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('spawnai_http_request_duration_seconds');
    expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
    expect((await fetch(`${guarded.url}/ready`)).status).toBe(200);
  });
});
