import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudFakes, startCloudFakes } from '../../fakes/railway/cloud-env.js';
import { FAST_WORKER_ENV, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type RunningCli, startCli } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * web and worker as separate processes, deploying to (a fake) Railway. The worker is killed
 * with SIGKILL after Railway created the service but before the session went live; the next
 * worker must adopt that service, not create a second one.
 */
describe('a worker killed after serviceCreate', () => {
  let pg: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let fakes: CloudFakes;
  let web: TestApp;
  const workers: RunningCli[] = [];

  beforeAll(async () => {
    pg = await createThrowawayPostgres({ migrated: true });
    fakes = await startCloudFakes();
    web = await startTestApp(fakes.env({ DATABASE_URL: pg.url, PROVIDER: 'railway' }), { worker: false });
  });
  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null) w.child.kill('SIGTERM');
      await w.exited;
    }
    await web?.stop();
    await pg?.drop();
    await fakes?.stop();
  });

  function startWorker(): Promise<RunningCli> {
    return startCli(['worker'], {
      ...fakes.env({ PROVIDER: 'railway' }),
      DATABASE_URL: pg.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: web.config.QUEUE_PREFIX,
      DATA_DIR: web.config.DATA_DIR,
      ...FAST_WORKER_ENV,
    });
  }

  it('the retried job adopts the existing service; exactly one service exists afterwards', async () => {
    fakes.railway.hold = true;
    const first = await startWorker();
    workers.push(first);
    const client = new WebChatClient(web.url);
    await client.open();
    const { sessionId, buildId } = (await client.send('a dashboard with a chart of our sales')).spawn!;
    const name = `spawn-${sessionId}`;

    // Railway has the service and its deployment is under way; the session is not live yet.
    await until('service created and deploying', async () => fakes.railway.heldCount() > 0, 30_000);
    expect(fakes.railway.servicesNamed(name)).toHaveLength(1);
    first.child.kill('SIGKILL');
    await first.exited;
    expect((await web.app.repos.sessions.get(sessionId))?.status).toBe('deploying');

    const mark = fakes.railway.operations.length;
    const second = await startWorker();
    workers.push(second);
    // The next worker picks the stalled job up, finds the service by name and reads its variables.
    await until(
      'the retried deploy found the service',
      async () => fakes.railway.operations.slice(mark).includes('variables'),
      30_000,
      100,
    );
    fakes.railway.release();
    // The session goes live, then its build is recorded succeeded (two writes: a job stopped
    // between them is run again and finishes the second); the person is told after both.
    const live = await until(
      'live after the second worker took over, its build succeeded',
      async () => {
        const s = await web.app.repos.sessions.get(sessionId);
        const b = await web.app.repos.builds.get(buildId);
        return s?.status === 'live' && b?.status === 'succeeded' ? s : undefined;
      },
      30_000,
      200,
    );
    const page = await fetchPreview(live.previewUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sales');

    const services = fakes.railway.servicesNamed(name);
    expect(services).toHaveLength(1);
    expect(fakes.railway.created.filter((n) => n === name)).toHaveLength(1);
    expect(live.serviceId).toBe(services[0]!.id);
    // Same build, same bundle: the deployment the dead worker started was adopted, not repeated.
    expect(services[0]!.deploymentIds).toHaveLength(1);
    const builds = await web.app.repos.builds.listForSession(sessionId);
    expect(builds.map((b) => [b.id, b.status])).toEqual([[buildId, 'succeeded']]);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 90_000); // two worker processes start, one after the other: slow on a loaded machine, not wrong
});
