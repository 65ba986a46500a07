import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/util/free-port.js';
import { copyPgliteTemplate } from './pglite-template.js';
import { cleanupPrefix } from './redis.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Runs the real CLI as `spawnai <args>`, compiled (the global setup rebuilds dist/ when the
 * sources changed), as `npm start` and the Docker image run it.
 */
export function cliCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, [path.join(ROOT, 'dist', 'src', 'cli.js'), ...args]];
}

export interface RunningCli {
  child: ChildProcess;
  prefix: string;
  port: number;
  url: string;
  dataDir: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A minimal, clean environment: no variable of this machine leaks into the service. */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function uniquePrefix(): string {
  return `spawnai-test-${randomBytes(4).toString('hex')}`;
}

export interface StartCliOptions {
  /** Wraps the command, e.g. in `unshare` or `npm start`. */
  wrap?: (cmd: string, args: string[]) => [string, string[]];
  /**
   * Start on an empty data folder, as a new install does (initdb and every migration: 2-20 s
   * of CPU on a loaded machine). Otherwise the embedded database starts as a copy of a migrated
   * one, which is the state of every start after the first.
   */
  freshDatabase?: boolean;
}

export async function startCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: StartCliOptions = {},
): Promise<RunningCli> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const ownDataDir = !env.DATA_DIR;
  const dataDir = env.DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'spawnai-cli-'));
  // As DATA_DIR usually is: the local apps' sandbox user (nobody) may pass through it.
  if (!env.DATA_DIR) chmodSync(dataDir, 0o755);
  if (!env.DATA_DIR && !env.DATABASE_URL && !options.freshDatabase) {
    await copyPgliteTemplate(path.join(dataDir, 'db'));
  }
  const { wrap } = options;
  let [cmd, argv] = cliCommand(args);
  if (wrap) [cmd, argv] = wrap(cmd, argv);
  const prefix = env.QUEUE_PREFIX ?? uniquePrefix();
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    // Any free preview port, unless the test names one: tests run side by side.
    env: baseEnv({ PORT: String(port), PREVIEW_PORT: '0', DATA_DIR: dataDir, ...env, QUEUE_PREFIX: prefix }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // Whatever the test does, the process's queues and state leave Redis when it exits, and the
  // data folder made for it (a 39 MB database copy each) leaves the shared disk.
  const exitedAndCleaned = exited.then(async (r) => {
    if (!env.QUEUE_PREFIX) await cleanupPrefix(prefix).catch(() => {});
    // Not awaited: the test goes on while the copy is deleted.
    if (ownDataDir) void rm(dataDir, { recursive: true, force: true }).catch(() => {});
    return r;
  });
  return {
    child,
    prefix,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    output: () => out,
    exited: exitedAndCleaned,
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const running = await startCli(args, env);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
  const { code } = await running.exited;
  clearTimeout(timer);
  return { code, output: running.output() };
}

export async function waitForHttp(url: string, timeoutMs: number, status = 200): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === status) return Date.now() - started;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Every process whose parent is `pid`, recursively (Linux /proc). */
export async function descendants(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends what a test left running: each CLI still alive, and every process it started (a failed
 * test must not leave a service behind; `npm start` killed hard leaves its child).
 */
export async function killLeftovers(runs: RunningCli[]): Promise<void> {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null) {
      const children = await descendants(r.child.pid!);
      r.child.kill('SIGKILL');
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await r.exited;
  }
}
