import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppFile } from '../../../src/build/types.js';
import { isSpawnError, type SpawnError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { createLocalProvider, type LocalProviderOptions } from '../../../src/provision/local/index.js';
import { boundLog, tailLog } from '../../../src/provision/local/process.js';
import type { Provider } from '../../../src/provision/types.js';
import { waitForHttpOk } from '../../../src/provision/wait.js';
import { freePort } from '../../../src/redis/local-server.js';
import { createLocalBundleStore } from '../../../src/storage/local/index.js';
import type { BundleStore } from '../../../src/storage/types.js';
import {
  deployRequest,
  helloApp,
  probe,
  providerContract,
  testSessionId,
} from '../../contract/provider-contract.js';

const HAS_PROC = existsSync('/proc/self/cmdline');

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
    const appsDir = await mkdtemp(path.join(os.tmpdir(), 'spawnai-contract-apps-'));
    const provider = createLocalProvider({
      appsDir,
      memoryMb: 64,
      previewHost: '127.0.0.1',
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
  { sameUrlOnRedeploy: true, refusedAfterDestroy: true },
);

function app(server: string, packageJson?: object): AppFile[] {
  const files: AppFile[] = [{ path: 'server.js', content: server }];
  if (packageJson) files.push({ path: 'package.json', content: JSON.stringify(packageJson) });
  return files;
}

async function rejection(promise: Promise<unknown>): Promise<SpawnError> {
  try {
    await promise;
  } catch (e) {
    if (isSpawnError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

async function readState(appsDir: string, sessionId: string) {
  return JSON.parse(await readFile(path.join(appsDir, sessionId, 'state.json'), 'utf8')) as {
    pid: number | null;
    port: number;
    buildId: string;
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
  const blockers: Server[] = [];

  function makeProvider(extra: Partial<LocalProviderOptions> = {}): Provider {
    const provider = createLocalProvider({
      appsDir,
      memoryMb: 64,
      previewHost: '127.0.0.1',
      logger: silentLogger(),
      ...extra,
    });
    providers.push(provider);
    return provider;
  }

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'spawnai-local-'));
    appsDir = path.join(root, 'apps');
    store = createLocalBundleStore({ dir: path.join(root, 'bundles') });
  });

  afterEach(async () => {
    for (const provider of providers.splice(0)) await provider.close?.();
    for (const blocker of blockers.splice(0)) await new Promise((r) => blocker.close(r));
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
    const port = new URL(url).port;

    expect(report.passwd).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.parentState).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.parentLog).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.writeInside).toEqual({ ok: true, value: 'kept' });
    expect(report.writeOutside).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.symlinkOut.ok).toBe(false);
    expect(report.spawn).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(report.env).toEqual({ PORT: port, NODE_ENV: 'production' });
    expect(existsSync(path.join(appsDir, sessionId, 'escape.txt'))).toBe(false);
    expect(await readFile(path.join(appsDir, sessionId, 'app', 'data', 'note.txt'), 'utf8')).toBe('kept');
  });

  it.skipIf(!HAS_PROC)('starts node with the memory limit and the permission flags', async () => {
    const provider = makeProvider({ memoryMb: 96 });
    const sessionId = testSessionId();
    await provider.deploy(await deployRequest(store, sessionId, helloApp('hi')));
    const { pid } = await readState(appsDir, sessionId);
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    expect(args).toContain('--max-old-space-size=96');
    expect(args.some((a) => a === '--permission' || a === '--experimental-permission')).toBe(true);
    const appDir = path.join(await realpath(appsDir), sessionId, 'app');
    expect(args).toContain(`--allow-fs-read=${appDir}`);
    expect(args).toContain(`--allow-fs-write=${appDir}`);
  });

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
    expect(await provider.status(sessionId)).toBe('stopped');
    expect(await provider.list()).toEqual([expect.objectContaining({ sessionId, running: false })]);
  });

  it('fails with ERR_DEPLOY_FAILED (not retried) and kills an app that never listens', async () => {
    const provider = makeProvider({ startTimeoutMs: 800 });
    const sessionId = testSessionId();
    const server =
      "require('fs').writeFileSync('pid.txt', String(process.pid));\nconsole.log('waiting forever');\nsetInterval(() => {}, 1000);\n";
    const error = await rejection(provider.deploy(await deployRequest(store, sessionId, app(server))));
    expect(error.code).toBe('ERR_DEPLOY_FAILED');
    expect(error.message).toMatch(/did not listen on its port .* within 0\.8 s/);
    expect(error.message).toContain('waiting forever');
    const pid = Number(await readFile(path.join(appsDir, sessionId, 'app', 'pid.txt'), 'utf8'));
    expect(isAlive(pid)).toBe(false);
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
    expect((await probe(url)).error).toBe('ECONNREFUSED');
    expect(existsSync(path.join(appsDir, sessionId))).toBe(false);
  });

  it('stops a deploy when its signal aborts', async () => {
    const provider = makeProvider({ startTimeoutMs: 10_000 });
    const sessionId = testSessionId();
    const controller = new AbortController();
    const server =
      "require('fs').writeFileSync('pid.txt', String(process.pid));\nsetInterval(() => {}, 1000);\n";
    const request = await deployRequest(store, sessionId, app(server), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('the job was cancelled')), 500);
    const started = Date.now();
    const error = await rejection(provider.deploy(request));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe('ERR_DEPLOY_TIMEOUT');
    expect(error.message).toMatch(/cancelled/);
    const pid = Number(await readFile(path.join(appsDir, sessionId, 'app', 'pid.txt'), 'utf8'));
    expect(isAlive(pid)).toBe(false);
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
    const first = makeProvider();
    const second = makeProvider();
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
    expect((await probe(url)).error).toBe('ECONNREFUSED');
    expect(await second.list()).toEqual([]);
  });

  it('restarts a closed app on its old port, or on a new one when that port is taken', async () => {
    const sessionId = testSessionId();
    const first = makeProvider();
    const { url } = await first.deploy(await deployRequest(store, sessionId, helloApp('one')));
    await first.close?.();

    const second = makeProvider();
    const again = await second.deploy(await deployRequest(store, sessionId, helloApp('two')));
    expect(again.url).toBe(url);
    await second.close?.();

    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(Number(new URL(url).port), '127.0.0.1', r));
    const third = makeProvider();
    const moved = await third.deploy(await deployRequest(store, sessionId, helloApp('three')));
    expect(moved.url).not.toBe(url);
    expect(await probe(moved.url)).toEqual({ status: 200, body: 'three' });
    expect((await third.list()).map((s) => s.url)).toEqual([moved.url]);
  });

  it('refuses session ids that are not safe folder names', async () => {
    const provider = makeProvider();
    await expect(provider.status('../etc')).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    await expect(provider.destroy('a/b')).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
  });

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
      waitForHttpOk(`http://127.0.0.1:${port}/`, { timeoutMs: 3_000, intervalMs: 50 }),
    );
    expect(error.code).toBe('ERR_DEPLOY_TIMEOUT');
    expect(error.message).toContain('ECONNREFUSED');
  });
});
