import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type RunningCli, startCli, waitForHttp } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { parsePrometheus, sample } from '../../helpers/prometheus.js';
import { WebChatClient } from '../../helpers/web-client.js';

/** web and worker as separate processes: one request's id is on both processes' log lines. */
describe('correlation ids', () => {
  let pg: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let migrator: TestApp;
  let web: RunningCli;
  let worker: RunningCli;

  beforeAll(async () => {
    pg = await createThrowawayPostgres({ migrated: true });
    migrator = await startTestApp({ DATABASE_URL: pg.url }, { web: false, worker: false });
    const env = {
      DATABASE_URL: pg.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: migrator.config.QUEUE_PREFIX,
      DATA_DIR: migrator.config.DATA_DIR,
      LOG_LEVEL: 'info',
      ...FAST_WORKER_ENV,
    };
    web = await startCli(['web'], env);
    worker = await startCli(['worker'], env);
    await waitForHttp(`${web.url}/ready`, 45_000);
  });
  afterAll(async () => {
    for (const p of [web, worker]) {
      if (p && p.child.exitCode === null) p.child.kill('SIGTERM');
      await p?.exited;
    }
    await migrator?.stop();
    await pg?.drop();
  });

  it("follows one message from the web process's log to the worker's", async () => {
    const client = new WebChatClient(web.url);
    await client.open();
    const clientId = 'correlate0001';
    const sent = await client.send('a landing page for a bike shop', clientId);
    await until(
      'live',
      async () => (await migrator.app.repos.sessions.get(sent.spawn!.sessionId))?.status === 'live',
      30_000,
    );
    const id = `web-${clientId}`;
    const lines = (out: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { correlationId?: string; msg: string });
    const webLines = lines(web.output()).filter((l) => l.correlationId === id);
    // The worker logs "build live" just after the session turns live: wait for the line.
    const workerLines = await until(
      'the worker logged the build',
      async () => {
        const mine = lines(worker.output()).filter((l) => l.correlationId === id);
        return mine.some((l) => l.msg === 'build live') ? mine : undefined;
      },
      10_000,
    ).catch(() => lines(worker.output()).filter((l) => l.correlationId === id));
    // The web process only queues the message; the conversation runs in the worker.
    expect(webLines.map((l) => l.msg)).toContain('message queued');
    expect(workerLines.length).toBeGreaterThan(0);
    expect(workerLines.map((l) => l.msg)).toContain('spawn requested');
    expect(workerLines.map((l) => l.msg)).toContain('build live');
    // No line carries the key twice (JSON would keep only the last).
    for (const raw of worker
      .output()
      .split('\n')
      .filter((l) => l.includes(id))) {
      expect(raw.split('"correlationId"').length - 1).toBe(1);
    }
  }, 60_000);

  it("serves the worker's own build metrics, and none of the web routes, from the worker process", async () => {
    await until(
      'a build counted',
      async () => {
        const m = parsePrometheus(await (await fetch(`${worker.url}/metrics`)).text());
        return sample(m, 'spawnai_builds_total', { builder: 'offline', outcome: 'succeeded' }) === 1;
      },
      10_000,
    );
    expect((await fetch(`${worker.url}/ready`)).status).toBe(200);
    expect((await fetch(`${worker.url}/`)).status).toBe(404);
    expect((await fetch(`${worker.url}/api/web/messages`, { method: 'POST' })).status).toBe(404);
    const web_ = parsePrometheus(await (await fetch(`${web.url}/metrics`)).text());
    expect(
      sample(web_, 'spawnai_builds_total', { builder: 'offline', outcome: 'succeeded' }),
    ).toBeUndefined();
  });
});
