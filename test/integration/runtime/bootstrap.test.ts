import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Header } from 'tar';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppFile } from '../../../src/builder/types.js';
import { packBundle } from '../../../src/lib/bundle-codec.js';
import { freePort } from '../../../src/util/free-port.js';
import { helloApp } from '../../contract/provider-contract.js';
import { BOOTSTRAP } from '../../fakes/railway/app-host.js';

/**
 * runtime/bootstrap.mjs run as the runtime image runs it (`node bootstrap.mjs`), on this
 * machine's Node, against bundles served over HTTP.
 */

interface Served {
  readonly body: Buffer;
  status?: number;
  hits: number;
}

let server: Server;
let base = '';
const served = new Map<string, Served>();
const running: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const entry = served.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!entry) {
      res.writeHead(404).end('no such object');
      return;
    }
    entry.hits += 1;
    if (entry.status && entry.status !== 200) {
      res.writeHead(entry.status).end('nope');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip' }).end(entry.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

function serve(name: string, body: Buffer): { url: string; entry: Served } {
  const entry: Served = { body, hits: 0 };
  served.set(`/${name}`, entry);
  // A query string like a signed URL's: it must never be printed.
  return { url: `${base}/${name}?token=secret-token-abc`, entry };
}

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'spawnai-runtime-'));
  dirs.push(d);
  return d;
}

interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function bootstrap(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [BOOTSTRAP], {
    env: { PATH: process.env.PATH, HOME: tempDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function answer(url: string, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return { status: res.status, body: await res.text() };
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A gzipped tar with one entry whose name we choose (packBundle refuses unsafe ones). */
async function hostileTar(name: string, type: 'File' | 'SymbolicLink' = 'File'): Promise<Buffer> {
  const content = Buffer.from('evil\n');
  const header = Buffer.alloc(512);
  new Header({
    path: name,
    mode: 0o644,
    size: type === 'File' ? content.length : 0,
    mtime: new Date(0),
    type,
    ...(type === 'SymbolicLink' ? { linkpath: '/etc/passwd' } : {}),
  }).encode(header, 0);
  const body =
    type === 'File' ? Buffer.concat([content, Buffer.alloc(512 - content.length)]) : Buffer.alloc(0);
  return promisify(gzip)(Buffer.concat([header, body, Buffer.alloc(1024)]));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('runtime bootstrap', () => {
  it('downloads, verifies, unpacks and starts the app on PORT, without BUNDLE_URL in its env', async () => {
    const files: AppFile[] = [
      { path: 'package.json', content: JSON.stringify({ scripts: { start: 'node server.js' } }) },
      {
        path: 'server.js',
        content:
          "require('node:http').createServer((q, s) => s.end(JSON.stringify({ port: process.env.PORT, " +
          'env: Object.keys(process.env).filter((k) => k.startsWith("BUNDLE") || k === "APP_DIR"), ' +
          'node: process.env.NODE_ENV }))).listen(Number(process.env.PORT));',
      },
    ];
    const packed = await packBundle(files);
    const { url } = serve('ok.tar.gz', packed.tarball);
    const port = await freePort();
    const appDir = path.join(tempDir(), 'app');
    const run = bootstrap({
      BUNDLE_URL: url,
      BUNDLE_SHA256: packed.sha256,
      PORT: String(port),
      APP_DIR: appDir,
    });
    const seen = await answer(`http://127.0.0.1:${port}/`);
    expect(seen.status).toBe(200);
    expect(JSON.parse(seen.body)).toEqual({ port: String(port), env: [], node: 'production' });
    await expect.poll(() => run.output()).toContain('the app is listening');
    const out = run.output();
    for (const step of [
      'download:',
      'verify: sha256',
      'unpack: 2 files',
      'install: the app has no dependencies',
      'start: node server.js',
    ]) {
      expect(out).toContain(step);
    }
    expect(out).not.toContain('secret-token-abc');
    // SIGTERM reaches the app; the bootstrap exits with it.
    run.child.kill('SIGTERM');
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain('received SIGTERM');
  });

  it('refuses a bundle whose checksum does not match, and starts nothing', async () => {
    const packed = await packBundle(helloApp('tampered'));
    const { url } = serve('tampered.tar.gz', Buffer.concat([packed.tarball, Buffer.from('x')]));
    const port = await freePort();
    const appDir = path.join(tempDir(), 'app');
    const run = bootstrap({
      BUNDLE_URL: url,
      BUNDLE_SHA256: packed.sha256,
      PORT: String(port),
      APP_DIR: appDir,
    });
    expect(await run.exited).toBe(66);
    expect(run.output()).toContain(
      `error: checksum failed: bundle checksum mismatch: expected ${packed.sha256}`,
    );
    expect(existsSync(appDir)).toBe(false);
  });

  it('says which step failed, with its own exit code', async () => {
    const packed = await packBundle(helloApp('x'));
    const port = String(await freePort());

    const missing = bootstrap({ BUNDLE_SHA256: packed.sha256, PORT: port });
    expect(await missing.exited).toBe(64);
    expect(missing.output()).toContain('error: config failed: BUNDLE_URL is not set');

    const badSha = bootstrap({ BUNDLE_URL: `${base}/x`, BUNDLE_SHA256: 'abc', PORT: port });
    expect(await badSha.exited).toBe(64);

    // An expired signed URL answers 400: no retries, a clear reason, no token in it.
    const { url, entry } = serve('expired.tar.gz', packed.tarball);
    entry.status = 400;
    const expired = bootstrap({
      BUNDLE_URL: url,
      BUNDLE_SHA256: packed.sha256,
      PORT: port,
      APP_DIR: path.join(tempDir(), 'a'),
    });
    expect(await expired.exited).toBe(65);
    expect(expired.output()).toContain(
      `could not download the bundle from ${base}/expired.tar.gz (HTTP 400)`,
    );
    expect(expired.output()).not.toContain('secret-token-abc');
    expect(entry.hits).toBe(1);

    const noStart = await packBundle([{ path: 'README.md', content: 'nothing to run' }]);
    const { url: u2 } = serve('nostart.tar.gz', noStart.tarball);
    const none = bootstrap({
      BUNDLE_URL: u2,
      BUNDLE_SHA256: noStart.sha256,
      PORT: port,
      APP_DIR: path.join(tempDir(), 'a'),
    });
    expect(await none.exited).toBe(69);
    expect(none.output()).toContain('error: start failed: no start command');
  });

  it.each([
    ['a path that leaves the app folder', '../escape.js', 'File' as const, 'it leaves the app folder'],
    ['an absolute path', '/etc/cron.d/evil', 'File' as const, 'it is absolute'],
    ['a symbolic link', 'link', 'SymbolicLink' as const, 'is not a regular file or folder'],
  ])('refuses a bundle with %s', async (_what, name, type, reason) => {
    const tarball = await hostileTar(name, type);
    const { url } = serve(`hostile-${type}-${name.length}.tar.gz`, tarball);
    const root = tempDir();
    const run = bootstrap({
      BUNDLE_URL: url,
      BUNDLE_SHA256: sha(tarball),
      PORT: String(await freePort()),
      APP_DIR: path.join(root, 'app'),
    });
    expect(await run.exited).toBe(67);
    expect(run.output()).toContain(reason);
    expect(readdirSync(root)).toEqual([]);
  });

  const LOCKFILE = {
    name: 'with-deps',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'with-deps', version: '1.0.0', dependencies: { greeting: 'file:./vendor/greeting' } },
      'node_modules/greeting': { resolved: 'vendor/greeting', link: true },
      'vendor/greeting': { version: '1.0.0' },
    },
  };

  it.each([
    ['npm install without a lockfile', false, 'running npm install (no lockfile)'],
    ['npm ci with the lockfile', true, 'running npm ci (package-lock.json)'],
  ])(
    'installs production dependencies when the app declares some: %s',
    async (_what, lockfile, says) => {
      const files: AppFile[] = [
        {
          path: 'package.json',
          content: JSON.stringify({
            name: 'with-deps',
            version: '1.0.0',
            scripts: { start: 'node server.js' },
            // A local package: installing it needs no network.
            dependencies: { greeting: 'file:./vendor/greeting' },
          }),
        },
        {
          path: 'vendor/greeting/package.json',
          content: JSON.stringify({ name: 'greeting', version: '1.0.0', main: 'index.js' }),
        },
        { path: 'vendor/greeting/index.js', content: "module.exports = () => 'hello from a dependency';" },
        {
          path: 'server.js',
          content:
            "const greet = require('greeting');\n" +
            "require('node:http').createServer((q, s) => s.end(greet())).listen(Number(process.env.PORT));\n",
        },
        ...(lockfile ? [{ path: 'package-lock.json', content: JSON.stringify(LOCKFILE) }] : []),
      ];
      const packed = await packBundle(files);
      const { url } = serve(`deps-${lockfile}.tar.gz`, packed.tarball);
      const port = await freePort();
      const run = bootstrap({
        BUNDLE_URL: url,
        BUNDLE_SHA256: packed.sha256,
        PORT: String(port),
        APP_DIR: path.join(tempDir(), 'app'),
        npm_config_offline: 'true',
      });
      const seen = await answer(`http://127.0.0.1:${port}/`, 60_000);
      expect(seen).toEqual({ status: 200, body: 'hello from a dependency' });
      expect(run.output()).toContain(`install: 1 dependencies (greeting); ${says}`);
      expect(run.output()).toContain('install: done');
    },
    90_000,
  );

  it('fails the install step with its own exit code when a dependency cannot be installed', async () => {
    const packed = await packBundle([
      {
        path: 'package.json',
        // Offline, a registry package that is not in the cache cannot be installed.
        content: JSON.stringify({
          name: 'broken',
          version: '1.0.0',
          dependencies: { 'spawnai-test-no-such-package': '1.0.0' },
        }),
      },
      { path: 'server.js', content: "require('spawnai-test-no-such-package');" },
    ]);
    const { url } = serve('broken-deps.tar.gz', packed.tarball);
    const run = bootstrap({
      BUNDLE_URL: url,
      BUNDLE_SHA256: packed.sha256,
      PORT: String(await freePort()),
      APP_DIR: path.join(tempDir(), 'app'),
      npm_config_offline: 'true',
    });
    expect(await run.exited).toBe(68);
    expect(run.output()).toMatch(/error: install failed: npm install exited with code \d+/);
  }, 90_000);

  it('starts again from the unpacked app after a restart, without downloading', async () => {
    const packed = await packBundle(helloApp('restarted'));
    const { url, entry } = serve('restart.tar.gz', packed.tarball);
    const port = String(await freePort());
    const appDir = path.join(tempDir(), 'app');
    const env = { BUNDLE_URL: url, BUNDLE_SHA256: packed.sha256, PORT: port, APP_DIR: appDir };
    const first = bootstrap(env);
    expect((await answer(`http://127.0.0.1:${port}/`)).body).toBe('restarted');
    first.child.kill('SIGTERM');
    await first.exited;
    entry.status = 500;
    const second = bootstrap(env);
    expect((await answer(`http://127.0.0.1:${port}/`)).body).toBe('restarted');
    expect(second.output()).toContain('(a restart); skipping download');
    expect(entry.hits).toBe(1);

    // Another bundle into the same folder is refused rather than mixed in.
    const other = await packBundle(helloApp('other'));
    const { url: otherUrl } = serve('other.tar.gz', other.tarball);
    second.child.kill('SIGTERM');
    await second.exited;
    const third = bootstrap({ ...env, BUNDLE_URL: otherUrl, BUNDLE_SHA256: other.sha256 });
    expect(await third.exited).toBe(67);
    expect(third.output()).toContain('holds another bundle');
  });
});
