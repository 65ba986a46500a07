import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboundQueue } from '../../../src/queue/inbound.js';
import { freePort } from '../../../src/util/free-port.js';
import { FAST_WORKER_ENV, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type RunningCli, startCli, waitForHttp } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * A TCP hop to Postgres that can stop passing bytes: a database that hangs, not one that refuses.
 * Bytes are forwarded by hand, not with pipe(): pipe() resumes a paused socket (and a connection the
 * pool opens later would flow), so a stalled hop must simply stop forwarding in both directions.
 */
async function stallableProxy(target: URL): Promise<{ url: string; stall(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let stalled = false;
  const forward = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (!stalled) to.write(chunk);
    });
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    stall() {
      stalled = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The web process acknowledges a message (it is on the inbound queue); the worker takes it and is
 * SIGKILLed before the build exists. The next worker handles it, once: one build, one status card,
 * the person's message once in the history, no failure told.
 */
describe('a worker killed between the acknowledgement and the build', () => {
  let pg: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let web: TestApp;
  let proxy: Awaited<ReturnType<typeof stallableProxy>>;
  const workers: RunningCli[] = [];

  beforeAll(async () => {
    pg = await createThrowawayPostgres({ migrated: true });
    proxy = await stallableProxy(new URL(pg.url));
    web = await startTestApp({ DATABASE_URL: pg.url }, { worker: false });
  });
  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    await web?.stop();
    await proxy?.close();
    await pg?.drop();
  });

  function startWorker(databaseUrl: string): Promise<RunningCli> {
    return startCli(['worker'], {
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: web.config.QUEUE_PREFIX,
      DATA_DIR: web.config.DATA_DIR,
      ...FAST_WORKER_ENV,
    });
  }

  it('is handled once by the next worker', async () => {
    const first = await startWorker(proxy.url);
    workers.push(first);
    await waitForHttp(`${first.url}/ready`, 45_000);
    // From now on the first worker's database calls hang: it takes the job and cannot finish it.
    proxy.stall();

    const client = new WebChatClient(web.url);
    const uid = await client.open();
    const clientId = 'killtest0001';
    const sent = await client.raw('/api/web/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'a tip calculator for our team lunch', clientId }),
    });
    // Acknowledged and queued (the worker could not answer in time), not failed.
    expect(sent.status).toBe(202);
    expect(await sent.json()).toMatchObject({ queued: true });
    const jobId = InboundQueue.jobId('web', `${uid}:${clientId}`);
    await until('the first worker to hold the job', async () => {
      const job = await web.app.inbound.queue.getJob(jobId);
      return (await job?.getState()) === 'active';
    });
    expect(await web.app.repos.builds.getByRequestKey(`web:${uid}:${clientId}`)).toBeUndefined();
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startWorker(pg.url);
    workers.push(second);
    const build = await until(
      'the build, from the next worker',
      async () => web.app.repos.builds.getByRequestKey(`web:${uid}:${clientId}`),
      45_000,
    );
    await until('the status card', async () => (await client.cards(build.sessionId)).length > 0, 30_000);
    await until('the job done', async () => (await web.app.inbound.queue.getJob(jobId))?.isCompleted());

    const identity = await web.app.repos.users.findIdentity('web', '', uid);
    const sessions = await web.app.repos.sessions.listByUser(identity!.userId, { limit: 10 });
    expect(sessions).toHaveLength(1);
    expect(await web.app.repos.builds.listForSession(sessions[0]!.id)).toHaveLength(1);
    const history = await client.history();
    expect(history.filter((m) => m.role === 'user')).toHaveLength(1);
    expect(history.filter((m) => m.view.title === 'Something went wrong')).toHaveLength(0);
    expect(await client.cards(build.sessionId)).toHaveLength(1);
  }, 180_000);
});
