import { type ChildProcess, spawn } from 'node:child_process';
import { open, stat, truncate, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';
import { SpawnError } from '../../errors.js';
import { sleep } from '../../util/time.js';

/** How long an app may take to exit after SIGTERM before its group gets SIGKILL. */
export const TERM_GRACE_MS = 3_000;
/** How long to wait for the exit after SIGKILL before giving up on it. */
const KILL_WAIT_MS = 2_000;
/** Pause between two connection attempts while an app starts. */
const LISTEN_POLL_MS = 100;
const CONNECT_TIMEOUT_MS = 1_000;
/** How much of the log end is read when quoting its last lines. */
const LOG_TAIL_BYTES = 64 * 1024;
const LOG_LINE_MAX_CHARS = 300;
const INTERNAL_FRAME = /^\s+at (?:.* \()?node:internal\//;

const FLAGS = process.allowedNodeEnvironmentFlags;
/** Node 20 calls the permission model experimental; later versions have `--permission`. */
const PERMISSION_FLAG = FLAGS.has('--permission') ? '--permission' : '--experimental-permission';
const QUIET_FLAGS = FLAGS.has('--disable-warning') ? ['--disable-warning=ExperimentalWarning'] : [];

/**
 * Node's arguments for an app: the permission model limited to `appDir` (no child processes,
 * workers or addons), a heap limit, then the entry file.
 */
export function nodeArgs(appDir: string, entry: string, memoryMb: number): string[] {
  return [
    PERMISSION_FLAG,
    `--allow-fs-read=${appDir}`,
    `--allow-fs-write=${appDir}`,
    `--max-old-space-size=${memoryMb}`,
    ...QUIET_FLAGS,
    path.join(appDir, ...entry.split('/')),
  ];
}

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
  readonly entry: string;
  readonly port: number;
  readonly memoryMb: number;
  readonly logFile: string;
}

/**
 * Starts `node <entry>` in `appDir` in its own process group, with an environment of only
 * PORT and NODE_ENV, stdout and stderr appended to `logFile`.
 */
export async function startApp(options: StartAppOptions): Promise<AppProcess> {
  const log = await open(options.logFile, 'a');
  let child: ChildProcess;
  let exit: ExitInfo | undefined;
  let exited: Promise<ExitInfo>;
  let started: Promise<Error | undefined>;
  try {
    child = spawn(process.execPath, nodeArgs(options.appDir, options.entry, options.memoryMb), {
      cwd: options.appDir,
      // Nothing of the service's own environment: generated code never sees a secret.
      env: { PORT: String(options.port), NODE_ENV: 'production' },
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
        exit = { code, signal };
        resolve(exit);
      });
    });
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
  const error = await started;
  if (error || child.pid === undefined) {
    throw new SpawnError('ERR_DEPLOY_FAILED', 'The app could not be started: node did not start.', {
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

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
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

/** Waits until `app` accepts TCP connections on 127.0.0.1:`port`, exits, times out or is aborted. */
export async function waitUntilListening(
  app: AppProcess,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ListenOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal.aborted) return { kind: 'aborted' };
    if (app.exit) return { kind: 'exited', exit: app.exit };
    if (await canConnect(port)) {
      // The connection may have reached someone else if the app died on EADDRINUSE.
      if (app.exit) return { kind: 'exited', exit: app.exit };
      return { kind: 'listening' };
    }
    if (Date.now() >= deadline) return { kind: 'timeout' };
    await Promise.race([sleep(LISTEN_POLL_MS, signal).catch(() => undefined), app.exited]);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
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
 * Ends the process group of `pid`: SIGTERM, then SIGKILL after {@link TERM_GRACE_MS}.
 * `isGone` tells when it has exited; `wake` (the child's exit) ends waits early.
 *
 * @returns whether the process is gone.
 */
export async function terminateGroup(
  pid: number,
  isGone: () => Promise<boolean>,
  wake?: Promise<unknown>,
): Promise<boolean> {
  if (await isGone()) return true;
  signalGroup(pid, 'SIGTERM');
  if (await waitUntil(isGone, TERM_GRACE_MS, wake)) return true;
  signalGroup(pid, 'SIGKILL');
  return waitUntil(isGone, KILL_WAIT_MS, wake);
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
