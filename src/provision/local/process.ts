import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { constants as osConstants } from 'node:os';
import { SpawnError } from '../../errors.js';
import { sleep } from '../../util/time.js';
import type { Launch } from './sandbox.js';

/** How long an app may take to exit after SIGTERM before its group gets SIGKILL. */
export const TERM_GRACE_MS = 3_000;
/** How long to wait for the exit after SIGKILL before giving up on it. */
const KILL_WAIT_MS = 2_000;
/** Pause between two connection attempts while an app starts. */
const LISTEN_POLL_MS = 25;
const CONNECT_TIMEOUT_MS = 1_000;
/** How much of the log end is read when quoting its last lines. */
const LOG_TAIL_BYTES = 64 * 1024;
const LOG_LINE_MAX_CHARS = 300;
const INTERNAL_FRAME = /^\s+at (?:.* \()?node:internal\//;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running app process started by this provider instance. */
export interface AppProcess {
  readonly sessionId: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly appDir: string;
  readonly logFile: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Set once the process has exited. */
  readonly exit: ExitInfo | undefined;
}

export interface StartAppOptions {
  readonly sessionId: string;
  readonly appDir: string;
  readonly launch: Launch;
  readonly logFile: string;
  /** Started through bubblewrap, which reports the app's death by signal N as exit code 128 + N. */
  readonly sandboxed: boolean;
}

/**
 * Starts the app's launcher in its own process group, with only the launch's environment
 * (nothing of the service's: generated code never sees a secret), stdout and stderr appended
 * to `logFile`.
 */
export async function startApp(options: StartAppOptions): Promise<AppProcess> {
  const log = await open(options.logFile, 'a');
  let child: ChildProcess;
  let exit: ExitInfo | undefined;
  let exited: Promise<ExitInfo>;
  let started: Promise<Error | undefined>;
  try {
    child = spawn(options.launch.command, [...options.launch.args], {
      cwd: options.appDir,
      env: { ...options.launch.env },
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    });
    // Listen before any await: 'spawn' and 'error' are emitted on the next tick.
    started = new Promise<Error | undefined>((resolve) => {
      child.once('error', (e) => resolve(e));
      child.once('spawn', () => resolve(undefined));
    });
    exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        exit = options.sandboxed ? normalizeExit(code, signal) : { code, signal };
        resolve(exit);
      });
    });
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
  const error = await started;
  if (error || child.pid === undefined) {
    throw new SpawnError('ERR_DEPLOY_FAILED', 'The app could not be started: its launcher did not start.', {
      cause: error,
    });
  }
  const app: AppProcess = {
    sessionId: options.sessionId,
    pid: child.pid,
    child,
    appDir: options.appDir,
    logFile: options.logFile,
    exited,
    get exit() {
      return exit;
    },
  };
  // Errors after a successful spawn (a failed kill) must not crash the service.
  child.on('error', () => undefined);
  return app;
}

/** bubblewrap exits with 128 + N when the app was killed by signal N: report it as the signal. */
function normalizeExit(code: number | null, signal: NodeJS.Signals | null): ExitInfo {
  if (signal || code === null || code <= 128 || code > 128 + 64) return { code, signal };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
  return name ? { code: null, signal: name as NodeJS.Signals } : { code, signal };
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: socketPath });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export type ListenOutcome =
  | { readonly kind: 'listening' }
  | { readonly kind: 'exited'; readonly exit: ExitInfo }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

/**
 * Waits until the app's preview socket accepts connections (the bridge opens it once the app
 * listens on PORT), or the app exits, or time runs out, or `signal` aborts.
 */
export async function waitUntilListening(
  app: AppProcess,
  socketPath: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ListenOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal.aborted) return { kind: 'aborted' };
    if (app.exit) return { kind: 'exited', exit: app.exit };
    if (existsSync(socketPath) && (await canConnect(socketPath))) {
      if (app.exit) return { kind: 'exited', exit: app.exit };
      return { kind: 'listening' };
    }
    if (Date.now() >= deadline) return { kind: 'timeout' };
    await Promise.race([sleep(LISTEN_POLL_MS, signal).catch(() => undefined), app.exited]);
  }
}

function send(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function commandName(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Every process below `pid` (Linux /proc), children before grandchildren. */
export async function descendantsOf(pid: number): Promise<number[]> {
  if (!existsSync('/proc/self/stat')) return [];
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

async function waitUntil(
  isGone: () => Promise<boolean>,
  ms: number,
  wake?: Promise<unknown>,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await isGone()) return true;
    if (Date.now() >= deadline) return false;
    await Promise.race([sleep(50), wake]);
  }
}

/**
 * Ends an app started as `pid` (its launcher): SIGTERM to the app itself, so it can close
 * cleanly, then SIGKILL to the whole tree and to `alsoKill` after {@link TERM_GRACE_MS}.
 * bubblewrap is spared the SIGTERM: it would die at once and take the app with it unwarned.
 * `isGone` tells when it has exited; `wake` (the child's exit) ends waits early.
 *
 * @returns whether the app is gone.
 */
export async function terminateApp(
  pid: number,
  isGone: () => Promise<boolean>,
  options: { readonly wake?: Promise<unknown>; readonly alsoKill?: () => Promise<void> } = {},
): Promise<boolean> {
  if (await isGone()) return true;
  const tree = [pid, ...(await descendantsOf(pid))];
  let termed = 0;
  for (const p of tree) {
    if ((await commandName(p)) === 'bwrap') continue;
    send(p, 'SIGTERM');
    termed += 1;
  }
  if (termed > 0 && (await waitUntil(isGone, TERM_GRACE_MS, options.wake))) return true;
  send(-pid, 'SIGKILL');
  for (const p of [pid, ...(await descendantsOf(pid))]) send(p, 'SIGKILL');
  await options.alsoKill?.();
  return waitUntil(isGone, KILL_WAIT_MS, options.wake);
}

/** Resident memory of `pid` and every process below it, in MiB (Linux /proc; 0 elsewhere). */
export async function treeRssMb(pid: number): Promise<number> {
  let kb = 0;
  for (const p of [pid, ...(await descendantsOf(pid))]) {
    try {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${p}/status`, 'utf8'));
      kb += match ? Number(match[1]) : 0;
    } catch {
      // gone meanwhile
    }
  }
  return kb / 1024;
}

/** When `pid` started (clock ticks after boot, from /proc), to tell it from a later process with its id. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether nothing listens on `port` on any local address. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    // No host: the unspecified address, which clashes with a listener on any interface.
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** Current size of the log, or 0 when it does not exist yet. */
export async function logSize(logFile: string): Promise<number> {
  try {
    return (await stat(logFile)).size;
  } catch {
    return 0;
  }
}

/** The last `count` lines written to the log since `fromOffset` (Node-internal stack frames left out), each shortened. */
export async function tailLog(logFile: string, fromOffset: number, count = 10): Promise<string[]> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(logFile, 'r');
    const size = (await handle.stat()).size;
    // The log may have been cut short since the offset was taken.
    const from = Math.max(fromOffset <= size ? fromOffset : 0, size - LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(size - from);
    await handle.read(buffer, 0, buffer.length, from);
    return (
      buffer
        .toString('utf8')
        .split('\n')
        .map((line) => line.trimEnd())
        // Node's own stack frames crowd out what the app printed.
        .filter((line) => line.length > 0 && !INTERNAL_FRAME.test(line))
        .slice(-count)
        .map((line) => (line.length > LOG_LINE_MAX_CHARS ? `${line.slice(0, LOG_LINE_MAX_CHARS)}...` : line))
    );
  } catch {
    return [];
  } finally {
    await handle?.close();
  }
}

/**
 * Keeps the log under `maxBytes`: once past it, the log is cut to its last quarter. The app
 * appends (O_APPEND), so it keeps writing at the new end.
 */
export async function boundLog(logFile: string, maxBytes: number): Promise<void> {
  const size = await logSize(logFile);
  if (size <= maxBytes) return;
  const keep = Math.floor(maxBytes / 4);
  let tail = Buffer.alloc(0);
  const handle = await open(logFile, 'r');
  try {
    tail = Buffer.alloc(keep);
    const { bytesRead } = await handle.read(tail, 0, keep, size - keep);
    tail = tail.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const firstNewline = tail.indexOf(10);
  if (firstNewline >= 0) tail = tail.subarray(firstNewline + 1);
  await truncate(logFile, 0);
  await writeFile(logFile, Buffer.concat([Buffer.from('[earlier output dropped]\n'), tail]), { flag: 'a' });
}
