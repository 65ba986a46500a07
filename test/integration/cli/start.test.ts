import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  alive,
  descendants,
  killLeftovers,
  type RunningCli,
  runCli,
  startCli,
  waitForHttp,
} from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '(gone)';
  }
}

const running: RunningCli[] = [];
afterEach(async () => {
  await killLeftovers(running);
});
const shared: RunningCli[] = [];
afterAll(async () => {
  await killLeftovers(shared);
});

async function stopAndCheck(r: RunningCli): Promise<void> {
  const children = await descendants(r.child.pid!);
  const started = Date.now();
  r.child.kill('SIGTERM');
  const { code } = await r.exited;
  const elapsed = Date.now() - started;
  expect(code, r.output()).toBe(0);
  expect(elapsed).toBeLessThan(10_000);
  // Children get a moment to notice their parent is gone (e.g. tsx's esbuild service).
  for (let i = 0; i < 20 && children.some(alive); i++) await new Promise((res) => setTimeout(res, 100));
  const left = children.filter(alive).map((pid) => `${pid}: ${cmdline(pid)}`);
  expect(left, 'no child process outlives spawnai').toEqual([]);
}

/**
 * One CLI process shared by the tests that look at the same start from different sides (a CLI
 * start costs seconds of CPU): started by whichever test comes first, stopped by the test that
 * checks the stop, so a test run alone (-t) still starts it.
 */
function sharedStart(start: () => Promise<RunningCli>): () => Promise<RunningCli> {
  let started: Promise<RunningCli> | undefined;
  return () => {
    started ??= start().then((r) => {
      shared.push(r);
      return r;
    });
    return started;
  };
}

describe('spawnai start', () => {
  // A new install: an empty data folder, so the embedded database is created from nothing.
  const newInstall = sharedStart(() =>
    startCli(['start'], { REDIS_URL: TEST_REDIS_URL }, { freshDatabase: true }),
  );
  // As the README starts it, open to other machines, on a machine without bubblewrap.
  const exposedByNpm = sharedStart(() =>
    startCli(
      ['start'],
      { REDIS_URL: TEST_REDIS_URL, HOST: '0.0.0.0', LOCAL_SANDBOX_BWRAP: '/nonexistent/bwrap' },
      // Process managers signal npm, not its child: the start script must hand the signal on.
      { wrap: () => ['npm', ['start', '--silent']] },
    ),
  );

  it('serves /health and /ready on PGlite + Redis, and exits 0 on SIGTERM leaving no child', async () => {
    const r = await newInstall();
    // Generous: the suite runs many processes at once; start-up time is measured in bench/, not here.
    await waitForHttp(`${r.url}/ready`, 90_000);
    const health = await fetch(`${r.url}/health`);
    expect(health.status).toBe(200);
    const ready = (await (await fetch(`${r.url}/ready`)).json()) as { checks: Record<string, string> };
    expect(ready.checks).toEqual({ postgres: 'ok', redis: 'ok' });
    expect(existsSync(path.join(r.dataDir, 'db'))).toBe(true);
    const page = await fetch(`${r.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('What should I build?');
    await stopAndCheck(r);
  }, 150_000);

  it('keeps quiet about exposure on the loopback (the default)', async () => {
    const r = await newInstall();
    // Everything it had to say about its start is said by the time it has stopped.
    if (r.child.exitCode === null) {
      await waitForHttp(`${r.url}/ready`, 90_000);
      await stopAndCheck(r);
    }
    await r.exited;
    expect(r.output()).toContain('"msg":"Server listening at http://127.0.0.1:');
    expect(r.output()).not.toContain('other machines can reach it');
  }, 150_000);

  it('says in plain words when the chat is open to other machines, and when local apps have no sandbox', async () => {
    const r = await exposedByNpm();
    await waitForHttp(`${r.url}/ready`, 45_000);
    const said = async (text: string) => {
      for (let i = 0; i < 100 && !r.output().includes(text); i++)
        await new Promise((res) => setTimeout(res, 100));
      return r.output().includes(text);
    };
    expect(await said('so other machines can reach it, and it asks nobody to log in')).toBe(true);
    expect(
      await said(
        'Local apps have no sandbox on this machine: bubblewrap (/nonexistent/bwrap) is not installed',
      ),
    ).toBe(true);
    expect(r.output()).toContain('apt-get install bubblewrap');
    expect(r.output()).toContain('apps written by Claude will not run on this machine');
  }, 90_000);

  it('as the README starts it (`npm start`): SIGTERM to npm stops the service and all it started', async () => {
    const r = await exposedByNpm();
    await waitForHttp(`${r.url}/ready`, 45_000);
    expect((await fetch(`${r.url}/health`)).status).toBe(200);
    await stopAndCheck(r);
  }, 90_000);

  it('on a machine where no Redis answers, starts a private redis-server and stops it on exit', async () => {
    const probe = spawnSync('unshare', ['-n', 'true']);
    if (probe.status !== 0) return; // needs a network namespace (root); covered in CI, which runs as root
    // In a fresh network namespace nothing answers on 127.0.0.1:6379, as on a new machine.
    const r = await startCli(
      ['start'],
      {},
      {
        wrap: (cmd, args) => [
          'unshare',
          ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', cmd, ...args],
        ],
      },
    );
    running.push(r);
    const inNamespace = (url: string) =>
      execFileSync(
        'nsenter',
        ['-t', String(r.child.pid), '-n', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url],
        {
          encoding: 'utf8',
        },
      );
    const started = Date.now();
    let status = '';
    while (Date.now() - started < 60_000) {
      try {
        status = inNamespace(`http://127.0.0.1:${r.port}/ready`);
        if (status === '200') break;
      } catch {
        // not up yet
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(status, r.output()).toBe('200');
    expect(r.output()).toContain('started a private redis-server');
    expect(existsSync(path.join(r.dataDir, 'redis', 'appendonlydir'))).toBe(true);
    await stopAndCheck(r);
  }, 120_000);

  it('without Redis and without redis-server, says exactly how to get one and exits 1', async () => {
    const probe = spawnSync('unshare', ['-n', 'true']);
    if (probe.status !== 0) return;
    const r = await startCli(
      ['start'],
      { PATH: '/nonexistent' },
      {
        wrap: (cmd, args) => [
          '/usr/bin/unshare',
          ['-n', '/bin/sh', '-c', '/usr/sbin/ip link set lo up && exec "$0" "$@"', cmd, ...args],
        ],
      },
    );
    running.push(r);
    const { code } = await r.exited;
    expect(code).toBe(1);
    expect(r.output()).toContain('there is no redis-server on PATH');
    expect(r.output()).toContain('sudo apt-get install -y redis-server');
    expect(r.output()).toContain('brew install redis');
    expect(r.output()).toContain('docker compose up -d redis');
  }, 90_000); // CLI processes: slow on a loaded machine, not wrong

  it('works on a throwaway Postgres through DATABASE_URL', async () => {
    const pg = await createThrowawayPostgres();
    try {
      const migrated = await runCli(['migrate'], { DATABASE_URL: pg.url });
      expect(migrated.code, migrated.output).toBe(0);
      expect(migrated.output).toContain('migration(s) applied');
      const r = await startCli(['web'], { DATABASE_URL: pg.url, REDIS_URL: TEST_REDIS_URL });
      running.push(r);
      await waitForHttp(`${r.url}/ready`, 45_000);
      await stopAndCheck(r);
    } finally {
      await pg.drop();
    }
  }, 90_000);

  it('refuses to serve on a database that needs migrations, naming the fix', async () => {
    const pg = await createThrowawayPostgres();
    try {
      const r = await runCli(['web'], { DATABASE_URL: pg.url, REDIS_URL: TEST_REDIS_URL });
      expect(r.code).toBe(1);
      expect(r.output).toMatch(
        /DATABASE_URL: the database is \d+ migration\(s\) behind; run `spawnai migrate` first/,
      );
    } finally {
      await pg.drop();
    }
  }, 90_000); // CLI processes: slow on a loaded machine, not wrong
});

describe('bad configuration', () => {
  it.each([
    [{ DATABASE_URL: 'not-a-url' }, 'DATABASE_URL must be a URL starting with postgres:// or postgresql://'],
    [{ REDIS_URL: 'redis://127.0.0.1:1' }, 'REDIS_URL: cannot connect to redis://127.0.0.1:1'],
    [{ PORT: 'eighty' }, 'PORT must be an integer from 1 to 65535'],
    [
      { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x', REDIS_URL: TEST_REDIS_URL },
      'DATABASE_URL: cannot connect',
    ],
  ])(
    '%j stops start-up with one clear line and exit 1',
    async (env, message) => {
      const r = await runCli(['start'], env);
      expect(r.code).toBe(1);
      const lines = r.output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
      expect(r.output).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    },
    90_000,
  ); // CLI processes: slow on a loaded machine, not wrong

  it('prints usage for unknown commands', async () => {
    const r = await runCli(['frobnicate'], {});
    expect(r.code).toBe(1);
    expect(r.output).toContain('unknown command "frobnicate"');
  }, 90_000); // CLI processes: slow on a loaded machine, not wrong
});
