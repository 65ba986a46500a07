import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type RunningCli, startCli, waitForHttp } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * web and worker as separate processes on one Postgres and Redis, as in production; the worker
 * is killed with SIGKILL in the middle of a build.
 */
describe('a worker killed mid-build', () => {
  let pg: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let web: TestApp;
  const workers: RunningCli[] = [];

  beforeAll(async () => {
    pg = await createThrowawayPostgres({ migrated: true });
    web = await startTestApp({ DATABASE_URL: pg.url }, { worker: false });
  });
  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null) w.child.kill('SIGTERM');
      await w.exited;
    }
    await web?.stop();
    await pg?.drop();
  });

  function startWorker(): Promise<RunningCli> {
    return startCli(['worker'], {
      DATABASE_URL: pg.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: web.config.QUEUE_PREFIX,
      DATA_DIR: web.config.DATA_DIR,
      OFFLINE_BUILD_STEP_MS: '600',
      ...FAST_WORKER_ENV,
    });
  }

  it('is picked up by the next worker and the build completes, once', async () => {
    const first = await startWorker();
    workers.push(first);
    // Ready first: on a loaded machine a booting worker would eat into the wait for "building".
    await waitForHttp(`${first.url}/ready`, 45_000);
    const client = new WebChatClient(web.url);
    await client.open();
    const sent = await client.send('a dashboard with a chart of our sales');
    const { sessionId, buildId } = sent.spawn!;

    await until(
      'building',
      // The session moves after the build row: wait for both, or the kill may land between them.
      async () =>
        (await web.app.repos.builds.get(buildId))?.status === 'building' &&
        (await web.app.repos.sessions.get(sessionId))?.status === 'building',
      20_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const interrupted = await web.app.repos.sessions.get(sessionId);
    expect(interrupted?.status).toBe('building');

    const second = await startWorker();
    workers.push(second);
    // Live, then the build recorded succeeded (two writes; the person is told after both).
    const live = await until(
      'live after the second worker took over, its build succeeded',
      async () => {
        const s = await web.app.repos.sessions.get(sessionId);
        const b = (await web.app.repos.builds.listForSession(sessionId))[0];
        return s?.status === 'live' && b?.status === 'succeeded' ? s : undefined;
      },
      40_000,
      250,
    );
    const page = await fetchPreview(live.previewUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sales');

    const builds = await web.app.repos.builds.listForSession(sessionId);
    expect(builds).toHaveLength(1);
    expect(builds[0]).toMatchObject({ status: 'succeeded', iteration: 1 });
    const transitions = (await web.app.repos.audit.listFor('session', sessionId))
      .map((a) => (a.data as { to?: string }).to)
      .filter(Boolean);
    expect(transitions).toEqual(['building', 'deploying', 'live']);
    const result = await until('result message', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('is ready')),
    );
    expect(result.view.text).toContain(live.previewUrl!);

    second.child.kill('SIGTERM');
    const { code } = await second.exited;
    expect(code).toBe(0);
  }, 90_000); // two worker processes start, one after the other: slow on a loaded machine, not wrong
});
