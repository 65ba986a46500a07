import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupFolderName } from '../../../src/provision/local/sandbox.js';
import { freePort } from '../../../src/util/free-port.js';
import { FAST_WORKER_ENV, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type RunningCli, startCli } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

const APPS = 5;
const PROMPTS = [
  'a todo list for the climbing gym',
  'a landing page for a bakery',
  'a guestbook for our wedding',
  'a notes app for recipes',
  'a dashboard of monthly sales',
];

/** Host processes of apps under `appsDir`: launchers, bubblewrap and Node name their app's folder. */
async function appProcesses(appsDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (args.some((a) => a.includes(`${appsDir}/`))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Control groups of apps left under this data folder's group, per controller (cgroup v1 here). */
async function leftoverCgroups(appsDir: string): Promise<string[]> {
  const left: string[] = [];
  const own = await readFile('/proc/self/cgroup', 'utf8');
  for (const controller of ['memory', 'pids', 'cpu']) {
    const group = new RegExp(`^\\d+:[^:]*\\b${controller}\\b[^:]*:(.*)$`, 'm').exec(own)?.[1];
    if (group === undefined) continue;
    const dir = path.join('/sys/fs/cgroup', controller, group, cgroupFolderName(appsDir));
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    left.push(...entries.filter((e) => e.isDirectory()).map((e) => `${controller}/${e.name}`));
  }
  return left;
}

/**
 * `kill -9` of the worker with five live apps, a new worker, then a clean shutdown: no app
 * process may be left. Sandboxed apps die with the worker (bubblewrap's --die-with-parent) and
 * the new worker starts them again; apps without a sandbox (the offline builder's templates
 * where bubblewrap is missing) outlive it, and the new worker takes them over. Either way its
 * SIGTERM ends them all.
 */
describe.skipIf(process.platform !== 'linux').each([
  { sandbox: 'bubblewrap', env: {} },
  { sandbox: 'none', env: { LOCAL_SANDBOX_BWRAP: '/nonexistent/bwrap' } },
])('SIGKILL of a worker with five live apps ($sandbox)', ({ sandbox, env }) => {
  let pg: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let web: TestApp;
  let previewPort: number;
  const workers: RunningCli[] = [];

  beforeAll(async () => {
    pg = await createThrowawayPostgres({ migrated: true });
    web = await startTestApp({ DATABASE_URL: pg.url, FREE_LIVE_SESSIONS: '10' }, { worker: false });
    previewPort = await freePort();
  });
  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    await web?.stop();
    await pg?.drop();
  });

  async function startWorker(): Promise<RunningCli> {
    const worker = await startCli(['worker'], {
      DATABASE_URL: pg.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: web.config.QUEUE_PREFIX,
      DATA_DIR: web.config.DATA_DIR,
      FREE_LIVE_SESSIONS: '10',
      // The same preview port for both workers, as in production: the apps keep their address.
      PREVIEW_PORT: String(previewPort),
      ...FAST_WORKER_ENV,
      ...env,
    });
    workers.push(worker);
    return worker;
  }

  async function allAnswer(sessionIds: readonly string[]): Promise<boolean> {
    for (const id of sessionIds) {
      const url = (await web.app.repos.sessions.get(id))?.previewUrl;
      const res = url
        ? await fetchPreview(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined)
        : undefined;
      if (res?.status !== 200) return false;
    }
    return true;
  }

  it('leaves no app process behind after the next worker shuts down', async () => {
    const appsDir = path.join(web.config.DATA_DIR, 'apps');
    const first = await startWorker();
    const ids: string[] = [];
    // A person each: in one conversation a second message would change the first app.
    for (const prompt of PROMPTS.slice(0, APPS)) {
      const client = new WebChatClient(web.url);
      await client.open();
      ids.push((await client.send(prompt)).spawn!.sessionId);
    }
    await until(
      'five live apps',
      async () =>
        (await Promise.all(ids.map((id) => web.app.repos.sessions.get(id)))).every(
          (s) => s?.status === 'live',
        ),
      60_000,
      250,
    );
    expect(await allAnswer(ids)).toBe(true);
    expect((await appProcesses(appsDir)).length).toBeGreaterThanOrEqual(APPS);

    first.child.kill('SIGKILL');
    await first.exited;
    if (sandbox === 'bubblewrap') {
      // Sandboxes die with the process that started them.
      await until(
        'the sandboxes died with the worker',
        async () => (await appProcesses(appsDir)).length === 0,
      );
    } else {
      // Unsandboxed apps outlive it: what the next worker has to take over.
      expect((await appProcesses(appsDir)).length).toBeGreaterThanOrEqual(APPS);
    }

    const second = await startWorker();
    await until('the five apps answer again', () => allAnswer(ids), 60_000, 250);
    for (const id of ids) expect((await web.app.repos.sessions.get(id))?.status).toBe('live');

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(await appProcesses(appsDir)).toEqual([]);
    expect(await leftoverCgroups(appsDir)).toEqual([]);
    const ports = await Promise.all(
      ids.map(async (id) => (await web.app.repos.sessions.get(id))?.previewUrl),
    );
    for (const url of ports) expect(new URL(url!).port).toBe(String(previewPort));
  }, 180_000);
});
