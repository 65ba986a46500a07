import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeCollector } from '../../fakes/otlp/collector.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { WebChatClient } from '../../helpers/web-client.js';

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let collector: FakeCollector;
  let t: TestApp;
  beforeAll(async () => {
    collector = await new FakeCollector().start();
    t = await startTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
  });
  afterAll(async () => {
    await t?.stop();
    await collector?.stop();
  });

  it('one spawn is one trace: the web request and the worker job, joined through the job data', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a dashboard for the team kanban', 'traced00001');
    await until(
      'live',
      async () => (await t.app.repos.sessions.get(sent.spawn!.sessionId))?.status === 'live',
    );
    await t.stop(); // flushes the spans
    const message = collector.spans.find(
      (s) =>
        s.name === 'conversation message' && s.attributes['spawnai.correlation_id'] === 'web-traced00001',
    );
    expect(message).toBeDefined();
    const job = collector.spans.find((s) => s.name === 'job spawn' && s.traceId === message!.traceId);
    expect(job, JSON.stringify(collector.spans.map((s) => s.name))).toBeDefined();
    expect(job!.attributes['spawnai.queue']).toBe('spawn');
  }, 60_000);
});
