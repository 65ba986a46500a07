import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppFile } from '../../../src/builder/types.js';
import { silentLogger } from '../../../src/log.js';
import { type AppCgroup, removeCgroup } from '../../../src/provision/local/cgroups.js';
import { createLocalProvider, type LocalProviderOptions } from '../../../src/provision/local/index.js';
import { boundLog, tailLog } from '../../../src/provision/local/process.js';
import type { Provider } from '../../../src/provision/types.js';
import { waitForHttpOk } from '../../../src/provision/wait.js';
import { createLocalBundleStore } from '../../../src/storage/local/index.js';
import type { BundleStore } from '../../../src/storage/types.js';
import { freePort } from '../../../src/util/free-port.js';
import { fetchLoopback } from '../../../src/util/loopback-fetch.js';
import {
  deployRequest,
  helloApp,
  probe,
  providerContract,
  testSessionId,
} from '../../contract/provider-contract.js';
import { until } from '../../helpers/app.js';
import { rejection } from '../../helpers/errors.js';
import { fetchPreview } from '../../helpers/preview.js';

const HAS_PROC = existsSync('/proc/self/cmdline');

/** A temp folder the sandbox user can reach, as a data folder usually is. */
async function reachableTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Host processes whose command line names the app's folder (its launcher, bubblewrap, Node). */
async function appProcesses(appDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (args.some((a) => a === appDir || a === `--allow-fs-read=${appDir}`)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Kills whatever a test left running under `appsDir`, so no test leaks a process. */
async function killLeftovers(appsDir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(appsDir);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const state = JSON.parse(await readFile(path.join(appsDir, name, 'state.json'), 'utf8')) as {
        pid: number | null;
      };
      if (state.pid) process.kill(-state.pid, 'SIGKILL');
    } catch {
      // no state, or already gone
    }
  }
}

providerContract(
  'local',
  async () => {
    const appsDir = await reachableTempDir('spawnai-contract-apps-');
    const provider = createLocalProvider({
      appsDir,
      limits: { memoryMb: 128 },
      previewHost: 'localhost',
      previewPort: 0,
      logger: silentLogger(),
    });
    return {
      provider,
      cleanup: async () => {
        await provider.close?.();
        await killLeftovers(appsDir);
        await rm(appsDir, { recursive: true, force: true });
      },
    };
  },
  // The preview port stays open for the other apps; a destroyed app's host answers 404.
  { sameUrlOnRedeploy: true },
);

function app(server: string, packageJson?: object): AppFile[] {
  const files: AppFile[] = [{ path: 'server.js', content: server }];
  if (packageJson) files.push({ path: 'package.json', content: JSON.stringify(packageJson) });
  return files;
}

async function readState(appsDir: string, sessionId: string) {
  return JSON.parse(await readFile(path.join(appsDir, sessionId, 'state.json'), 'utf8')) as {
    pid: number | null;
    sandbox: 'bubblewrap' | 'none';
    hostPort?: number;
    ownerPid: number;
    buildId: string;
    cgroup?: AppCgroup;
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const SANDBOX_APP = `
const http = require('node:http');
const fs = require('node:fs');
const cp = require('node:child_process');
function attempt(fn) {
  try { return { ok: true, value: fn() }; } catch (e) { return { ok: false, code: e.code || e.name }; }
}
const report = {
  passwd: attempt(() => fs.readFileSync('/etc/passwd', 'utf8').slice(0, 20)),
  parentState: attempt(() => fs.readFileSync('../state.json', 'utf8')),
  parentLog: attempt(() => fs.readFileSync('../app.log', 'utf8')),
  writeInside: attempt(() => {
    fs.mkdirSync('data', { recursive: true });
    fs.writeFileSync('data/note.txt', 'kept');
    return fs.readFileSync('data/note.txt', 'utf8');
  }),
  writeOutside: attempt(() => fs.writeFileSync('../escape.txt', 'x')),
  symlinkOut: attempt(() => fs.symlinkSync('/etc/passwd', 'passwd-link')),
  spawn: attempt(() => { cp.spawn('/bin/sh', ['-c', 'echo escaped']); return 'spawned'; }),
  env: { ...process.env },
};
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify(report));
}).listen(Number(process.env.PORT));
`;

describe('local provider', () => {
  let root: string;
  let appsDir: string;
  let store: BundleStore;
  const providers: Provider[] = [];

  function makeProvider(extra: Partial<LocalProviderOptions> = {}) {
    const provider = createLocalProvider({
      appsDir,
      limits: { memoryMb: 128 },
      previewHost: 'localhost',
      previewPort: 0,
      logger: silentLogger(),
      ...extra,
    });
    providers.push(provider);
    return provider;
  }

  beforeEach(async () => {
    root = await reachableTempDir('spawnai-local-');
    appsDir = path.join(root, 'apps');
    store = createLocalBundleStore({ dir: path.join(root, 'bundles') });
  });

  afterEach(async () => {
    for (const provider of providers.splice(0)) await provider.close?.();
    await killLeftovers(appsDir);
    delete process.env.SPAWNAI_TEST_SECRET;
    await rm(root, { recursive: true, force: true });
  });

  it('sandboxes the app: its own folder only, no child processes, an environment of PORT and NODE_ENV', async () => {
    process.env.SPAWNAI_TEST_SECRET = 'do-not-leak-me';
    const provider = makeProvider();
    const sessionId = testSessionId();
    const { url } = await provider.deploy(await deployRequest(store, sessionId, app(SANDBOX_APP)));
    await waitForHttpOk(url, { timeoutMs: 10_000 });
    const report = JSON.parse((await probe(url)).body ?? '{}');

    expect(report.passwd).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.parentState).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.parentLog).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.writeInside).toEqual({ ok: true, value: 'kept' });
    expect(report.writeOutside).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.symlinkOut.ok).toBe(false);
    expect(report.spawn).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    // Its own network: the same port inside every sandbox. bubblewrap adds PWD, which holds nothing.
    expect(report.env).toEqual({ PORT: '8080', NODE_ENV: 'production', PWD: '/app' });
    expect(existsSync(path.join(appsDir, sessionId, 'escape.txt'))).toBe(false);
    expect(await readFile(path.join(appsDir, sessionId, 'app', 'data', 'note.txt'), 'utf8')).toBe('kept');
  });

  it.skipIf(!HAS_PROC)(
    'starts node in bubblewrap, with a heap of 3/4 of its memory and the permission flags',
    async () => {
      const provider = makeProvider({ limits: { memoryMb: 128 } });
      const sessionId = testSessionId();
      await provider.deploy(await deployRequest(store, sessionId, helloApp('hi')));
      const { pid } = await readState(appsDir, sessionId);
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      expect(path.basename(args[0]!)).toBe('bwrap');
      for (const flag of [
        '--unshare-all',
        '--unshare-user',
        '--die-with-parent',
        '--new-session',
        '--clearenv',
      ]) {
        expect(args).toContain(flag);
      }
      const appDir = path.join(await realpath(appsDir), sessionId, 'app');
      expect(args.slice(args.indexOf('--bind'))).toEqual(expect.arrayContaining([appDir, '/app']));
      expect(args).toContain('--max-old-space-size=96');
      expect(args.some((a) => a === '--permission' || a === '--experimental-permission')).toBe(true);
      expect(args).toContain('--allow-fs-read=/app');
      expect(args).toContain('--allow-fs-write=/app');
    },
  );

  it('fails with ERR_DEPLOY_FAILED and the log lines when the app crashes at start', async () => {
    const provider = makeProvider();
    const sessionId = testSessionId();
    const server = "console.log('booting crash-marker-1');\nthrow new Error('boom-at-start');\n";
    const error = await rejection(provider.deploy(await deployRequest(store, sessionId, app(server))));
    expect(error.code).toBe('ERR_DEPLOY_FAILED');
    expect(error.message).toMatch(/exited with code 1 before it listened/);
    expect(error.message).toContain('crash-marker-1');
    expect(error.message).toContain('boom-at-start');
    expect(error.message.split('\n').length).toBeLessThanOrEqual(11);
    expect(error.message).not.toContain('node:internal');
    expect(error.message).not.toContain(appsDir);
    expect(error.message).toContain('server.js:2');
    // What a repair turn is given: the failed check and the app's own last lines.
    expect(error.startup?.check).toBe('it exited with code 1 before it listened on its port');
    expect(error.startup?.logTail.join('\n')).toContain('boom-at-start');
    expect(await provider.status(sessionId)).toBe('stopped');
    expect(await provider.list()).toEqual([expect.objectContaining({ sessionId, running: false })]);
  });

  it('fails with ERR_DEPLOY_FAILED (not retried) and kills an app that never listens', async () => {
    const provider = makeProvider({ startTimeoutMs: 800 });
    const sessionId = testSessionId();
    const server = "console.log('waiting forever');\nsetInterval(() => {}, 1000);\n";
    const error = await rejection(provider.deploy(await deployRequest(store, sessionId, app(server))));
    expect(error.code).toBe('ERR_DEPLOY_FAILED');
    expect(error.message).toMatch(/did not listen on its port .* within 0\.8 s/);
    expect(error.message).toContain('waiting forever');
    expect(error.startup?.check).toMatch(/did not listen on its port/);
    expect(await appProcesses(path.join(await realpath(appsDir), sessionId, 'app'))).toEqual([]);
    expect(await provider.status(sessionId)).toBe('stopped');
  });

  it('refuses a start script that is not `node <file>`, and keeps the running version', async () => {
    const provider = makeProvider();
    const sessionId = testSessionId();
    const { url } = await provider.deploy(await deployRequest(store, sessionId, helloApp('still here')));
    const files = app('', { scripts: { start: 'next start' } });
    const error = await rejection(provider.deploy(await deployRequest(store, sessionId, files)));
    expect(error.code).toBe('ERR_DEPLOY_FAILED');
    expect(error.message).toContain('the local provider runs `node <file>` start scripts only');
    expect(error.message).toContain('"next start"');
    expect(await probe(url)).toEqual({ status: 200, body: 'still here' });
  });

  it('refuses an app with npm dependencies, saying it has no network to install them', async () => {
    const provider = makeProvider();
    const files = app('', { scripts: { start: 'node server.js' }, dependencies: { express: '^4' } });
    const error = await rejection(provider.deploy(await deployRequest(store, testSessionId(), files)));
    expect(error.code).toBe('ERR_DEPLOY_FAILED');
    expect(error.message).toMatch(/npm packages \(express\).*no network access/);
  });

  it('finds the entry from main, or server.js when there is no package.json', async () => {
    const provider = makeProvider();
    const viaMain: AppFile[] = [
      { path: 'package.json', content: JSON.stringify({ main: 'src/app.js' }) },
      { path: 'src/app.js', content: helloApp('via main')[1]!.content },
    ];
    const a = await provider.deploy(await deployRequest(store, testSessionId(), viaMain));
    expect(await probe(a.url)).toEqual({ status: 200, body: 'via main' });
    const b = await provider.deploy(await deployRequest(store, testSessionId(), [helloApp('bare')[1]!]));
    expect(await probe(b.url)).toEqual({ status: 200, body: 'bare' });
  });

  it('ends the whole process group with SIGKILL when the app ignores SIGTERM', async () => {
    const provider = makeProvider();
    const sessionId = testSessionId();
    const server = `${helloApp('stubborn')[1]!.content}\nprocess.removeAllListeners('SIGTERM');\nprocess.on('SIGTERM', () => {});\n`;
    const { url } = await provider.deploy(await deployRequest(store, sessionId, app(server)));
    const { pid } = await readState(appsDir, sessionId);
    const started = Date.now();
    await provider.destroy(sessionId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
    expect(isAlive(pid!)).toBe(false);
    expect(await appProcesses(path.join(await realpath(appsDir), sessionId, 'app'))).toEqual([]);
    expect((await probe(url)).status).toBe(404);
    expect(existsSync(path.join(appsDir, sessionId))).toBe(false);
  });

  it('stops a deploy when its signal aborts', async () => {
    const provider = makeProvider({ startTimeoutMs: 10_000 });
    const sessionId = testSessionId();
    const controller = new AbortController();
    const server = 'setInterval(() => {}, 1000);\n';
    const request = await deployRequest(store, sessionId, app(server), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('the job was cancelled')), 500);
    const started = Date.now();
    const error = await rejection(provider.deploy(request));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe('ERR_DEPLOY_TIMEOUT');
    expect(error.message).toMatch(/cancelled/);
    expect(await appProcesses(path.join(await realpath(appsDir), sessionId, 'app'))).toEqual([]);
  });

  it('close() ends every app it started but keeps their folders and state, not running', async () => {
    const provider = makeProvider();
    const ids = [testSessionId(), testSessionId()];
    const urls: string[] = [];
    for (const id of ids)
      urls.push((await provider.deploy(await deployRequest(store, id, helloApp(id)))).url);
    const pids = await Promise.all(ids.map(async (id) => (await readState(appsDir, id)).pid!));
    await provider.close?.();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    for (const url of urls) expect((await probe(url)).error).toBe('ECONNREFUSED');
    const listed = await provider.list();
    expect(listed.map((s) => s.sessionId).sort()).toEqual([...ids].sort());
    expect(listed.every((s) => !s.running)).toBe(true);
    for (const id of ids) {
      expect(await provider.status(id)).toBe('stopped');
      expect((await stat(path.join(appsDir, id, 'app', 'server.js'))).isFile()).toBe(true);
    }
    await expect(
      provider.deploy(await deployRequest(store, testSessionId(), helloApp('late'))),
    ).rejects.toThrow(/shutting down/);
  });

  it('shares state across instances: another instance lists, redeploys and destroys the apps', async () => {
    const previewPort = await freePort();
    const first = makeProvider({ previewPort });
    const second = makeProvider({ previewPort });
    const sessionId = testSessionId();
    const { url } = await first.deploy(await deployRequest(store, sessionId, helloApp('from first')));
    const oldPid = (await readState(appsDir, sessionId)).pid!;

    expect(await second.list()).toEqual([{ serviceId: `local-${sessionId}`, sessionId, url, running: true }]);
    expect(await second.status(sessionId)).toBe('running');

    const again = await second.deploy(await deployRequest(store, sessionId, helloApp('from second')));
    expect(again.url).toBe(url);
    expect(isAlive(oldPid)).toBe(false);
    expect(await probe(url)).toEqual({ status: 200, body: 'from second' });
    expect(await first.status(sessionId)).toBe('running');

    await first.destroy(sessionId);
    expect((await probe(url)).status).toBe(404);
    expect(await second.list()).toEqual([]);
  });

  it("a redeploy by another instance is not undone by the first one's late clean-up of its own run", async () => {
    const previewPort = await freePort();
    const first = makeProvider({ previewPort });
    const second = makeProvider({ previewPort });
    const sessionId = testSessionId();
    await first.deploy(await deployRequest(store, sessionId, helloApp('one')));
    const old = await readState(appsDir, sessionId);
    const { url } = await second.deploy(await deployRequest(store, sessionId, helloApp('two')));
    // What the first instance does when it sees its app exit, which may come after the second
    // instance has set up the new run: it kills and removes the old run's control groups.
    if (old.cgroup) await removeCgroup(old.cgroup);
    expect(await probe(url)).toEqual({ status: 200, body: 'two' });
    const now = await readState(appsDir, sessionId);
    for (const dir of Object.values(now.cgroup?.dirs ?? {})) expect(existsSync(dir), dir).toBe(true);
  });

  it('starts a closed app again at the same address', async () => {
    const sessionId = testSessionId();
    const previewPort = await freePort();
    const first = makeProvider({ previewPort });
    const { url } = await first.deploy(await deployRequest(store, sessionId, helloApp('one')));
    await first.close?.();
    expect((await probe(url)).error).toBe('ECONNREFUSED');

    const second = makeProvider({ previewPort });
    const again = await second.deploy(await deployRequest(store, sessionId, helloApp('two')));
    expect(again.url).toBe(url);
    expect(await probe(url)).toEqual({ status: 200, body: 'two' });
    expect((await second.list()).map((s) => s.url)).toEqual([url]);
  });

  it('refuses session ids that are not safe folder names', async () => {
    const provider = makeProvider();
    await expect(provider.status('../etc')).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    await expect(provider.destroy('a/b')).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
  });

  it('serves every preview on one port, by host name; unknown hosts get 404, a stopped app 502', async () => {
    const provider = makeProvider();
    const a = testSessionId();
    const b = testSessionId();
    const first = await provider.deploy(await deployRequest(store, a, helloApp('app a')));
    const second = await provider.deploy(await deployRequest(store, b, helloApp('app b')));
    const port = provider.previewPort();
    expect(first.url).toBe(`http://${a}.localhost:${port}`);
    expect(second.url).toBe(`http://${b}.localhost:${port}`);
    expect(await probe(first.url)).toEqual({ status: 200, body: 'app a' });
    expect(await probe(second.url)).toEqual({ status: 200, body: 'app b' });
    // The chat's own host, an IP, or another domain never reach an app.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `${a}.example.com:${port}`]) {
      const res = await fetchLoopback(`http://127.0.0.1:${port}/`, { headers: { host } }).catch(
        () => undefined,
      );
      expect(res?.status ?? 404).toBe(404);
    }
    expect((await probe(`http://127.0.0.1:${port}/`)).status).toBe(404);
    expect((await probe(`http://nosuchapp.localhost:${port}/`)).status).toBe(404);

    const { pid } = await readState(appsDir, a);
    process.kill(pid!, 'SIGKILL');
    await until('the app is down', async () => (await provider.status(a)) === 'stopped');
    // The pid is the sandbox's outer process: the kernel ends the app inside its PID namespace
    // a moment later, and on a loaded machine a request can still reach it meanwhile.
    const down = await until('the preview to say the app is not running', async () => {
      const res = await fetchPreview(first.url);
      return res.status === 502 ? res : undefined;
    });
    expect(await down.text()).toContain('not running right now');
    expect(await probe(second.url)).toEqual({ status: 200, body: 'app b' });
  });

  it('passes the request through: method, path, body, headers, cookies of its own host', async () => {
    const provider = makeProvider();
    const server = `
const http = require('node:http');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': ['a=1; HttpOnly', 'b=2'] });
    res.end(JSON.stringify({ method: req.method, url: req.url, body, host: req.headers.host, xff: req.headers['x-forwarded-for'] }));
  });
}).listen(Number(process.env.PORT));
`;
    const sessionId = testSessionId();
    const { url } = await provider.deploy(await deployRequest(store, sessionId, app(server)));
    const res = await fetchPreview(`${url}/api/items?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"chalk"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual(['a=1; HttpOnly', 'b=2']);
    expect(await res.json()).toEqual({
      method: 'POST',
      url: '/api/items?x=1',
      body: '{"name":"chalk"}',
      host: new URL(url).host,
      xff: '127.0.0.1',
    });
  });

  it.skipIf(!HAS_PROC)('holds a busy app to its share of CPU', async () => {
    const provider = makeProvider({ limits: { memoryMb: 128, cpuPercent: 25 } });
    const sessionId = testSessionId();
    const server = `
const http = require('node:http');
http.createServer((req, res) => {
  const wall = Date.now();
  const cpu = process.cpuUsage();
  while (Date.now() - wall < 2000) Math.sqrt(Math.random());
  const used = process.cpuUsage(cpu);
  res.end(String((used.user + used.system) / 1000 / (Date.now() - wall)));
}).listen(Number(process.env.PORT));
`;
    const { url } = await provider.deploy(await deployRequest(store, sessionId, app(server)));
    const state = JSON.parse(await readFile(path.join(appsDir, sessionId, 'state.json'), 'utf8')) as {
      cgroup?: { dirs: { cpu?: string } };
    };
    const cpuDir = state.cgroup?.dirs.cpu;
    expect(cpuDir, 'a cpu control group').toBeTruthy();
    expect((await readFile(path.join(cpuDir!, 'cpu.cfs_quota_us'), 'utf8')).trim()).toBe('25000');
    // A quarter of a core at most, whatever else the machine does (load can only lower it).
    const share = Number(await (await fetchPreview(url, { signal: AbortSignal.timeout(20_000) })).text());
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(0.35);
  });

  describe('where no sandbox can be had (no bubblewrap)', () => {
    const noBwrap = { sandbox: { bwrap: '/nonexistent/bwrap' }, alternatives: ['railway'] };

    it('runs the offline builder’s templates under Node’s permission model, on the same preview port', async () => {
      const provider = makeProvider(noBwrap);
      const report = await provider.sandboxReport();
      expect(report.sandbox).toEqual({
        kind: 'none',
        reason: expect.stringContaining(
          'bubblewrap (/nonexistent/bwrap) is not installed: install bubblewrap',
        ),
      });
      await provider.assertCanRun?.('template');
      const sessionId = testSessionId();
      const { url } = await provider.deploy(
        await deployRequest(store, sessionId, app(SANDBOX_APP), { origin: 'template' }),
      );
      expect(url).toBe(`http://${sessionId}.localhost:${provider.previewPort()}`);
      const seen = JSON.parse((await probe(url)).body ?? '{}');
      expect(seen.passwd).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
      expect(seen.spawn).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
      expect(Object.keys(seen.env).sort()).toEqual(['NODE_ENV', 'PORT']);
      expect(seen.env.PORT).not.toBe('8080');
      expect(await readState(appsDir, sessionId)).toMatchObject({
        sandbox: 'none',
        hostPort: expect.any(Number),
      });
      expect(await provider.notices?.()).toEqual([
        expect.stringMatching(
          /^Local apps have no sandbox on this machine: .* apps written by Claude will not run/,
        ),
      ]);
    });

    it('refuses code a model wrote, before and at deploy, saying where it can run', async () => {
      const provider = makeProvider(noBwrap);
      const early = await rejection(provider.assertCanRun!('generated'));
      expect(early.code).toBe('ERR_SANDBOX_UNAVAILABLE');
      expect(early.userMessage).toBe(
        'This server runs apps written by Claude only in a sandbox, and it has none, so it will not run yours here. ' +
          'It can run on railway: ask again with `--on railway`.',
      );
      const sessionId = testSessionId();
      const error = await rejection(provider.deploy(await deployRequest(store, sessionId, helloApp('nope'))));
      expect(error.code).toBe('ERR_SANDBOX_UNAVAILABLE');
      expect(await provider.status(sessionId)).toBe('missing');
    });

    it('runs it anyway when the operator opted out of the sandbox', async () => {
      const provider = makeProvider({ ...noBwrap, allowUnsandboxed: true });
      const { url } = await provider.deploy(await deployRequest(store, testSessionId(), helloApp('unsafe')));
      expect(await probe(url)).toEqual({ status: 200, body: 'unsafe' });
      expect((await provider.notices?.())?.[0]).toMatch(
        /run anyway, unsandboxed, because LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX/,
      );
    });
  });

  it('without control groups, rlimits still bound an app’s memory, and say it could not do more', async () => {
    const provider = makeProvider({
      sandbox: { cgroups: false },
      limits: { memoryMb: 128 },
      watchIntervalMs: 200,
    });
    const report = await provider.sandboxReport();
    expect(report.notEnforced.join(' ')).toMatch(
      /processes and CPU are not limited: that needs control groups/,
    );
    const server = `
const http = require('node:http');
const kept = [];
http.createServer((req, res) => {
  if (req.url === '/hog') setInterval(() => kept.push(Buffer.alloc(8 * 1024 * 1024, 1)), 10);
  res.writeHead(200, { connection: 'close' }).end('ok');
}).listen(Number(process.env.PORT));
`;
    const sessionId = testSessionId();
    const { url } = await provider.deploy(await deployRequest(store, sessionId, app(server)));
    await fetchPreview(`${url}/hog`);
    // On a loaded machine V8 may collect garbage for a while before it gives up.
    const stopped = await until(
      'stopped',
      async () => (await provider.stopReason?.(sessionId)) !== undefined,
      60_000,
    ).catch(async (e: unknown) => {
      // Say what the app did: its state and the last lines of its log.
      const log = await readFile(path.join(appsDir, sessionId, 'app.log'), 'utf8').catch(String);
      const state = await readState(appsDir, sessionId).catch(String);
      throw new Error(`${String(e)}\nstate: ${JSON.stringify(state)}\nlog tail:\n${log.slice(-3000)}`);
    });
    expect(stopped).toBe(true);
    expect(await provider.stopReason?.(sessionId)).toBe('it used more than 128 MB of memory');
  }, 90_000);

  it.skipIf(!HAS_PROC)(
    'takes over the apps of a process that died, and ends them when it closes',
    async () => {
      // Unsandboxed apps do not die with their owner (sandboxed ones do): the case adoption is for.
      const first = makeProvider({ sandbox: { bwrap: '/nonexistent/bwrap' } });
      const sessionId = testSessionId();
      await first.deploy(await deployRequest(store, sessionId, helloApp('orphan'), { origin: 'template' }));
      const { pid } = await readState(appsDir, sessionId);
      // As if its owner had been killed: a pid that no longer exists.
      const dead = spawnSync('true').pid!;
      const file = path.join(appsDir, sessionId, 'state.json');
      await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), ownerPid: dead }));

      const heir = makeProvider({ sandbox: { bwrap: '/nonexistent/bwrap' } });
      await heir.start?.();
      expect((await readState(appsDir, sessionId)).ownerPid).toBe(process.pid);
      expect(await heir.status(sessionId)).toBe('running');
      await heir.close?.();
      // It is still the first provider's child here, so it is gone once that one reaped it.
      await until('the orphan is gone', async () => !isAlive(pid!));
      expect(await heir.status(sessionId)).toBe('stopped');
    },
  );

  it('keeps a log bounded and quotes its last lines', async () => {
    const log = path.join(root, 'bounded.log');
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
    await writeFile(log, `${lines.join('\n')}\n`);
    await boundLog(log, 64 * 1024);
    const size = (await stat(log)).size;
    expect(size).toBeLessThanOrEqual(16 * 1024 + 100);
    const text = await readFile(log, 'utf8');
    expect(text.startsWith('[earlier output dropped]\nline ')).toBe(true);
    expect(text.endsWith(`line 4999 ${'x'.repeat(40)}\n`)).toBe(true);
    expect(await tailLog(log, 0, 2)).toEqual([`line 4998 ${'x'.repeat(40)}`, `line 4999 ${'x'.repeat(40)}`]);
  });
});

describe('waitForHttpOk', () => {
  it('waits through other statuses until 200', async () => {
    const http = await import('node:http');
    let calls = 0;
    const server = http.createServer((_req, res) => {
      calls += 1;
      res.writeHead(calls < 3 ? 503 : 200, { connection: 'close' });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const attempts: unknown[] = [];
    try {
      await waitForHttpOk(`http://127.0.0.1:${port}/`, {
        timeoutMs: 5_000,
        intervalMs: 20,
        onAttempt: (a) => attempts.push(a),
      });
    } finally {
      server.close();
    }
    expect(attempts).toEqual([
      { attempt: 1, status: 503 },
      { attempt: 2, status: 503 },
    ]);
  });

  it('throws ERR_DEPLOY_TIMEOUT with the last error seen', async () => {
    const port = await freePort();
    const error = await rejection(
      waitForHttpOk(`http://127.0.0.1:${port}/`, { timeoutMs: 1_000, intervalMs: 50 }),
    );
    expect(error.code).toBe('ERR_DEPLOY_TIMEOUT');
    expect(error.message).toContain('ECONNREFUSED');
  });
});
