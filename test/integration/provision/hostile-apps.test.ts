import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppFile } from '../../../src/builder/types.js';
import { silentLogger } from '../../../src/log.js';
import { createLocalProvider } from '../../../src/provision/local/index.js';
import type { Provider } from '../../../src/provision/types.js';
import { createLocalBundleStore } from '../../../src/storage/local/index.js';
import type { BundleStore } from '../../../src/storage/types.js';
import { freePort } from '../../../src/util/free-port.js';
import { deployRequest, helloApp, probe, testSessionId } from '../../contract/provider-contract.js';
import { until } from '../../helpers/app.js';
import { TEST_POSTGRES_ADMIN_URL, TEST_REDIS_URL } from '../../helpers/env.js';
import { fetchPreview } from '../../helpers/preview.js';

/**
 * Apps written as a malicious build would write them, started by the real local provider.
 * Each attack must fail. The probes run twice: as deployed (bubblewrap outside, Node's
 * permission model inside) and with the inner layer off, as it would be for code that found a
 * way around Node's permission model (Node says it is no security boundary): the sandbox alone
 * must hold. The limit attacks must end the attacker only, with the reason, while the other
 * apps keep answering.
 */

const LIMITS = { memoryMb: 128, fileMb: 4, diskMb: 8, files: 400, processes: 32, cpuPercent: 50 };

interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

interface Targets {
  readonly network: readonly Target[];
  readonly files: Readonly<Record<string, string>>;
  readonly lists: Readonly<Record<string, string>>;
  readonly writes: Readonly<Record<string, string>>;
  readonly pids: Readonly<Record<string, number>>;
  /** A port it opens on every interface of its own, which must not appear on the host's. */
  readonly extraPort: number;
}

interface Probe {
  readonly ok: boolean;
  readonly detail: string;
}

interface Report {
  readonly network: Record<string, Probe>;
  readonly metadataHttp: Probe;
  readonly dns: Probe;
  readonly files: Record<string, Probe>;
  readonly lists: Record<string, Probe>;
  readonly writes: Record<string, Probe>;
  readonly signals: Record<string, Probe>;
  readonly own: { readonly write: Probe; readonly port: Probe };
  readonly extraListen: Probe;
  readonly root: Probe;
  readonly uid: number;
}

/** Tries everything in targets.json at start, then serves what it found on every request. */
const PROBE_APP = `'use strict';
const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');
const dns = require('node:dns');
const targets = JSON.parse(fs.readFileSync(__dirname + '/targets.json', 'utf8'));
const PORT = Number(process.env.PORT);
const fail = (e) => ({ ok: false, detail: String((e && (e.code || e.message)) || e) });
function attempt(fn) {
  try { return { ok: true, detail: String(fn()).slice(0, 200) }; } catch (e) { return fail(e); }
}
function connect(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (r) => { socket.destroy(); resolve(r); };
    socket.setTimeout(2000, () => done({ ok: false, detail: 'timeout' }));
    socket.once('connect', () => done({ ok: true, detail: 'connected' }));
    socket.once('error', (e) => done(fail(e)));
  });
}
function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => { res.resume(); resolve({ ok: true, detail: 'HTTP ' + res.statusCode }); });
    req.on('timeout', () => { req.destroy(); resolve({ ok: false, detail: 'timeout' }); });
    req.on('error', (e) => resolve(fail(e)));
  });
}
async function main() {
  const report = { network: {}, files: {}, lists: {}, writes: {}, signals: {} };
  await Promise.all(targets.network.map(async (t) => { report.network[t.name] = await connect(t.host, t.port); }));
  report.metadataHttp = await get('http://169.254.169.254/latest/meta-data/');
  report.dns = await new Promise((resolve) => dns.lookup('example.com', (e, a) => resolve(e ? fail(e) : { ok: true, detail: a })));
  for (const [name, file] of Object.entries(targets.files)) report.files[name] = attempt(() => fs.readFileSync(file, 'utf8'));
  for (const [name, dir] of Object.entries(targets.lists)) report.lists[name] = attempt(() => fs.readdirSync(dir).join(','));
  for (const [name, file] of Object.entries(targets.writes)) report.writes[name] = attempt(() => { fs.writeFileSync(file, 'owned'); return 'written'; });
  for (const [name, pid] of Object.entries(targets.pids)) report.signals[name] = attempt(() => { process.kill(pid, name === 'bystander' ? 'SIGKILL' : 0); return 'signalled'; });
  report.root = attempt(() => fs.readdirSync('/').join(','));
  report.uid = process.getuid();
  report.own = { write: attempt(() => { fs.writeFileSync(__dirname + '/mine.txt', 'mine'); return fs.readFileSync(__dirname + '/mine.txt', 'utf8'); }) };
  report.extraListen = await new Promise((resolve) => {
    const extra = net.createServer((s) => s.end('leaked')).on('error', (e) => resolve(fail(e)));
    extra.listen(targets.extraPort, '0.0.0.0', () => resolve({ ok: true, detail: 'listening' }));
  });
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify(report));
  });
  server.listen(PORT, async () => { report.own.port = await connect('127.0.0.1', PORT); });
}
main();
`;

/** Listens at once; GET /hog then fills memory with Buffers (outside V8's heap) until stopped. */
const MEMORY_HOG = `'use strict';
const http = require('node:http');
const kept = [];
http.createServer((req, res) => {
  if (req.url === '/hog') {
    setInterval(() => {
      for (let i = 0; i < 2; i++) kept.push(Buffer.alloc(4 * 1024 * 1024, 1));
      console.log('holding', kept.length * 4, 'MB; rss', process.memoryUsage().rss >> 20, 'MB');
    }, 20);
  }
  res.writeHead(200, { connection: 'close' }).end('ok');
}).listen(Number(process.env.PORT));
`;

/** GET /big writes one ever-growing file; GET /many writes many files under the size limit. */
const DISK_HOG = `'use strict';
const http = require('node:http');
const fs = require('node:fs');
const chunk = Buffer.alloc(1024 * 1024, 7);
let last = 'none';
http.createServer((req, res) => {
  if (req.url === '/big') {
    for (let i = 0; i < 12; i++) {
      try { fs.appendFileSync(__dirname + '/big.bin', chunk); } catch (e) { last = e.code; }
    }
  }
  if (req.url === '/many') {
    for (let i = 0; i < 20; i++) {
      try { fs.writeFileSync(__dirname + '/part-' + i + '.bin', chunk); } catch (e) { last = e.code; }
    }
  }
  res.writeHead(200, { connection: 'close' }).end(last);
}).listen(Number(process.env.PORT));
`;

/** GET /fork starts Node processes until the system refuses (the inner layer is off for this one). */
const FORK_BOMB = `'use strict';
const http = require('node:http');
const { spawn } = require('node:child_process');
let started = 0;
let refused = 'none';
http.createServer((req, res) => {
  if (req.url === '/fork') {
    const more = () => {
      try {
        const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
        child.on('error', (e) => { refused = e.code; });
        started += 1;
      } catch (e) { refused = e.code; }
      if (started < 200) setTimeout(more, 5);
    };
    more();
  }
  res.writeHead(200, { connection: 'close' }).end(started + ' ' + refused);
}).listen(Number(process.env.PORT));
`;

/** GET /kill-all sends SIGKILL to every process it may signal. */
const KILL_ALL = `'use strict';
const http = require('node:http');
http.createServer((req, res) => {
  res.writeHead(200, { connection: 'close' }).end('ok');
  if (req.url === '/kill-all') setTimeout(() => process.kill(-1, 'SIGKILL'), 50);
}).listen(Number(process.env.PORT));
`;

function appOf(server: string, extra: AppFile[] = []): AppFile[] {
  return [
    { path: 'package.json', content: JSON.stringify({ scripts: { start: 'node server.js' } }) },
    { path: 'server.js', content: server },
    ...extra,
  ];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
}

/** The default gateway of this machine (from the kernel's route table), if it has one. */
async function gateway(): Promise<string | undefined> {
  try {
    for (const line of (await readFile('/proc/net/route', 'utf8')).split('\n').slice(1)) {
      const [, destination, hex] = line.split(/\s+/);
      if (destination === '00000000' && hex && hex !== '00000000') {
        const n = Number.parseInt(hex, 16);
        return [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24].join('.');
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

describe.skipIf(process.platform !== 'linux')('hostile apps in the local sandbox', () => {
  let root: string;
  let dataDir: string;
  let appsDir: string;
  let store: BundleStore;
  let service: http.Server;
  let servicePort: number;
  let bystander: ChildProcess;
  const providers: Provider[] = [];
  const stopped: { sessionId: string; reason: string }[] = [];
  const victim = testSessionId();
  const victimSecret = `victim-secret-${Math.random().toString(36).slice(2)}`;
  const dataSecret = `data-secret-${Math.random().toString(36).slice(2)}`;
  let victimUrl: string;

  function makeProvider(nodePermissions: boolean) {
    const provider = createLocalProvider({
      appsDir,
      limits: LIMITS,
      previewHost: 'localhost',
      previewPort: 0,
      logger: silentLogger(),
      sandbox: { nodePermissions },
      watchIntervalMs: 300,
      onLimit: (sessionId, reason) => stopped.push({ sessionId, reason }),
    });
    providers.push(provider);
    return provider;
  }

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'spawnai-hostile-'));
    // As a data folder usually is: its parents let others through (the sandbox user among them).
    await chmod(root, 0o755);
    dataDir = path.join(root, 'spawnai-data');
    appsDir = path.join(dataDir, 'apps');
    await mkdir(path.join(dataDir, 'db'), { recursive: true });
    await writeFile(path.join(dataDir, 'secrets.json'), JSON.stringify({ cookieSecret: dataSecret }));
    await writeFile(path.join(dataDir, 'db', 'PG_VERSION'), `18 ${dataSecret}\n`);
    store = createLocalBundleStore({ dir: path.join(dataDir, 'bundles') });

    service = http.createServer((_req, res) => res.end('the service'));
    await new Promise<void>((r) => service.listen(0, '0.0.0.0', r));
    servicePort = (service.address() as net.AddressInfo).port;
    bystander = spawn('sleep', ['600'], { stdio: 'ignore' });

    const provider = makeProvider(true);
    const deployed = await provider.deploy(
      await deployRequest(store, victim, [
        ...helloApp('victim alive'),
        { path: 'secret.txt', content: victimSecret },
      ]),
    );
    victimUrl = deployed.url;
  });

  afterAll(async () => {
    for (const provider of providers.splice(0)) await provider.close?.();
    bystander?.kill('SIGKILL');
    await new Promise((r) => service?.close(r));
    await rm(root, { recursive: true, force: true });
  });

  async function targets(previewPort: number): Promise<Targets> {
    const redis = new URL(TEST_REDIS_URL);
    const postgres = new URL(TEST_POSTGRES_ADMIN_URL);
    const network: Target[] = [
      { name: 'redis', host: redis.hostname, port: Number(redis.port || 6379) },
      { name: 'postgres', host: postgres.hostname, port: Number(postgres.port || 5432) },
      { name: 'service', host: '127.0.0.1', port: servicePort },
      { name: 'preview port', host: '127.0.0.1', port: previewPort },
      { name: 'cloud metadata', host: '169.254.169.254', port: 80 },
      ...hostAddresses().map((address) => ({
        name: `service on ${address}`,
        host: address,
        port: servicePort,
      })),
    ];
    const via = await gateway();
    if (via) network.push({ name: `gateway ${via}`, host: via, port: 80 });
    // Before asking the app, make sure each one answers from here: a refusal must be the sandbox's.
    for (const t of network.filter(
      (t) => !['cloud metadata'].includes(t.name) && !t.name.startsWith('gateway'),
    )) {
      expect(await reachable(t.host, t.port), `${t.name} answers the test itself`).toBe(true);
    }
    const victimFile = path.join(appsDir, victim, 'app', 'secret.txt');
    expect(await readFile(victimFile, 'utf8')).toBe(victimSecret);
    return {
      network,
      files: {
        'data folder secrets': path.join(dataDir, 'secrets.json'),
        'database files': path.join(dataDir, 'db', 'PG_VERSION'),
        "another app's file": victimFile,
        "another app's file, relative": `../../${victim}/app/secret.txt`,
        'passwords of the host': '/etc/passwd',
        "the worker's environment": `/proc/${process.pid}/environ`,
        "the worker's command line": `/proc/${process.pid}/cmdline`,
      },
      lists: {
        'data folder': dataDir,
        'apps folder': appsDir,
        "another app's folder": path.join(appsDir, victim, 'app'),
        'host /etc': '/etc',
        'host home': '/home',
        'host /root': '/root',
      },
      writes: {
        'into the data folder': path.join(dataDir, 'owned.txt'),
        "into another app's folder": path.join(appsDir, victim, 'app', 'owned.txt'),
        'over the runtime': '/spawnai/node',
        'into /usr': '/usr/owned.txt',
      },
      pids: { bystander: bystander.pid!, worker: process.pid, 'worker parent': process.ppid },
      extraPort: await freePort(),
    };
  }

  describe.each([
    { layers: 'bubblewrap and Node’s permission model', nodePermissions: true },
    { layers: 'bubblewrap alone', nodePermissions: false },
  ])('with $layers', ({ nodePermissions }) => {
    let report: Report;
    let extraPort: number;

    beforeAll(async () => {
      const provider = makeProvider(nodePermissions) as ReturnType<typeof createLocalProvider>;
      await provider.start?.();
      const sessionId = testSessionId();
      const aim = await targets(provider.previewPort()!);
      extraPort = aim.extraPort;
      const files = appOf(PROBE_APP, [{ path: 'targets.json', content: JSON.stringify(aim) }]);
      const { url } = await provider.deploy(await deployRequest(store, sessionId, files));
      const seen = await until('the probe report', async () => {
        const res = await fetchPreview(url);
        const body = (await res.json()) as Report;
        return body.own?.port ? body : undefined;
      });
      report = seen;
    });

    it('runs as nobody, in its own folder, on its own port (the controls)', () => {
      expect(report.uid).toBe(65534);
      expect(report.own.write).toEqual({ ok: true, detail: 'mine' });
      expect(report.own.port).toEqual({ ok: true, detail: 'connected' });
    });

    it('cannot connect to Redis, Postgres, the service, the preview port, the host or cloud metadata', () => {
      expect(Object.keys(report.network)).toEqual(expect.arrayContaining(['redis', 'postgres', 'service']));
      for (const [name, result] of Object.entries(report.network)) {
        expect(result.ok, `${name}: ${result.detail}`).toBe(false);
      }
      expect(report.metadataHttp.ok, report.metadataHttp.detail).toBe(false);
      expect(report.dns.ok, report.dns.detail).toBe(false);
    });

    it('cannot read the data folder, another app or the host, nor write outside its folder', async () => {
      for (const [name, result] of Object.entries({ ...report.files, ...report.lists, ...report.writes })) {
        expect(result.ok, `${name}: ${result.detail}`).toBe(false);
      }
      const everything = JSON.stringify(report);
      expect(everything).not.toContain(victimSecret);
      expect(everything).not.toContain(dataSecret);
      // What it sees of the file system: the runtime, its folders, nothing of the host's.
      if (nodePermissions) expect(report.root.ok).toBe(false);
      else {
        const visible = report.root.detail.split(',');
        expect(visible).toContain('app');
        const sandboxOnly = ['app', 'dev', 'proc', 'run', 'spawnai', 'tmp', 'lib', 'lib64', 'usr'];
        expect(visible.filter((d) => !sandboxOnly.includes(d))).toEqual([]);
      }
      expect(existsSync(path.join(dataDir, 'owned.txt'))).toBe(false);
      expect(existsSync(path.join(appsDir, victim, 'app', 'owned.txt'))).toBe(false);
    });

    it('opens no port on the host: what it listens on stays in its own network', async () => {
      expect(report.extraListen).toEqual({ ok: true, detail: 'listening' });
      for (const host of ['127.0.0.1', ...hostAddresses()]) {
        expect(await reachable(host, extraPort), `${host}:${extraPort}`).toBe(false);
      }
    });

    it('cannot signal a process outside its sandbox', async () => {
      for (const [name, result] of Object.entries(report.signals)) {
        expect(result.ok, `${name}: ${result.detail}`).toBe(false);
      }
      expect(alive(bystander.pid!)).toBe(true);
      expect(await probe(victimUrl)).toEqual({ status: 200, body: 'victim alive' });
    });
  });

  it('kill -1 inside the sandbox ends only the sandbox', async () => {
    const provider = makeProvider(false);
    const sessionId = testSessionId();
    const { url } = await provider.deploy(await deployRequest(store, sessionId, appOf(KILL_ALL)));
    await fetchPreview(`${url}/kill-all`);
    await until('the app killed itself', async () => (await provider.status(sessionId)) === 'stopped');
    expect(alive(bystander.pid!)).toBe(true);
    expect(await probe(victimUrl)).toEqual({ status: 200, body: 'victim alive' });
  });

  describe('limits: the app past one is stopped, with the reason; the others keep running', () => {
    async function expectStopped(provider: Provider, sessionId: string, reason: string) {
      await until(
        `${sessionId} stopped and its owner told`,
        async () => stopped.find((s) => s.sessionId === sessionId),
        30_000,
      );
      expect(await provider.status(sessionId)).toBe('stopped');
      expect(await provider.stopReason?.(sessionId)).toBe(reason);
      expect(stopped.filter((s) => s.sessionId === sessionId)).toEqual([{ sessionId, reason }]);
      expect(await probe(victimUrl)).toEqual({ status: 200, body: 'victim alive' });
    }

    it('memory: Buffers past the limit of the whole app', async () => {
      const provider = makeProvider(true);
      const sessionId = testSessionId();
      const { url } = await provider.deploy(await deployRequest(store, sessionId, appOf(MEMORY_HOG)));
      await fetchPreview(`${url}/hog`);
      await expectStopped(provider, sessionId, 'it used more than 128 MB of memory');
      const log = await readFile(path.join(appsDir, sessionId, 'app.log'), 'utf8');
      // Past its 96 MB heap cap through Buffers, as the attack of the issue did, and no further than the limit.
      const lines = [...log.matchAll(/holding (\d+) MB; rss (\d+) MB/g)];
      expect(Math.max(...lines.map((m) => Number(m[2])))).toBeGreaterThan(96);
      expect(Math.max(...lines.map((m) => Number(m[1])))).toBeLessThan(128);
    });

    it('file size: one file as large as the limit', async () => {
      const provider = makeProvider(true);
      const sessionId = testSessionId();
      const { url } = await provider.deploy(await deployRequest(store, sessionId, appOf(DISK_HOG)));
      const answer = await fetchPreview(`${url}/big`);
      // The kernel refuses the write past the limit (the app sees EFBIG), and the watcher ends
      // the app once it sees the file at the limit: on a loaded machine that can come before the
      // app's answer is out, and the preview then says the app is not answering.
      if (answer.status === 200) expect(await answer.text()).toBe('EFBIG');
      else
        expect([answer.status, await answer.text()]).toEqual([
          502,
          expect.stringContaining('The app is not answering'),
        ]);
      await expectStopped(provider, sessionId, 'it wrote a file of 4 MB, the largest an app may write');
      // Not one byte past the limit reached the disk.
      expect((await stat(path.join(appsDir, sessionId, 'app', 'big.bin'))).size).toBe(4 * 1024 * 1024);
    });

    it('folder size: many files under the file limit', async () => {
      const provider = makeProvider(true);
      const sessionId = testSessionId();
      const { url } = await provider.deploy(await deployRequest(store, sessionId, appOf(DISK_HOG)));
      await fetchPreview(`${url}/many`);
      await expectStopped(provider, sessionId, 'its folder grew past 8 MB');
    });

    it('processes: a fork bomb (with the permission model out of the way)', async () => {
      const provider = makeProvider(false);
      const sessionId = testSessionId();
      const { url } = await provider.deploy(await deployRequest(store, sessionId, appOf(FORK_BOMB)));
      await fetchPreview(`${url}/fork`);
      await expectStopped(provider, sessionId, 'it tried to run more than 32 processes and threads');
    });
  });
});
