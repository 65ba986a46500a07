import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AppFile } from '../../../../src/builder/types.js';
import { freePort } from '../../../../src/util/free-port.js';

/** Starting a generated app: its own folder, Node's permission model, an env of only PORT. */

const START_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 50;
const STOP_TIMEOUT_MS = 5_000;

export interface RunningApp {
  readonly url: string;
  readonly child: ChildProcess;
  /** What the app printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<RunningApp>();
const dirs = new Set<string>();

export async function writeApp(files: readonly AppFile[]): Promise<string> {
  // realpath: the permission model compares resolved paths, and tmpdir() may be a symlink.
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'spawnai-offline-')));
  dirs.add(dir);
  for (const file of files) {
    const target = path.join(dir, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  return dir;
}

const FLAGS = process.allowedNodeEnvironmentFlags;
/**
 * The permission model as this Node spells it: `--experimental-permission` on Node 20,
 * `--permission` later; from Node 25 it also covers the network, so the app needs `--allow-net`
 * to listen at all.
 */
const PERMISSION_FLAGS = [
  FLAGS.has('--permission') ? '--permission' : '--experimental-permission',
  ...(FLAGS.has('--allow-net') ? ['--allow-net'] : []),
];

export async function startApp(dir: string): Promise<RunningApp> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...PERMISSION_FLAGS, `--allow-fs-read=${dir}`, `--allow-fs-write=${dir}`, 'server.js'],
    { cwd: dir, env: { PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const app: RunningApp = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop() {
      running.delete(app);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  running.add(app);

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${app.url}/`);
      await res.arrayBuffer();
      if (res.status === 200) return app;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  await app.stop();
  throw new Error(`the app did not answer GET / within ${START_TIMEOUT_MS} ms:\n${output}`);
}

export async function stopAllApps(): Promise<void> {
  await Promise.all([...running].map((app) => app.stop()));
}

export async function removeAppDirs(): Promise<void> {
  await Promise.all([...dirs].map((dir) => rm(dir, { recursive: true, force: true })));
  dirs.clear();
}

/** A JSON request; returns the status, headers and parsed body (undefined when empty). */
export async function call(
  app: RunningApp,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${app.url}${urlPath}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}
