import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SpawnError } from '../../errors.js';
import type { AppCgroup } from './cgroups.js';
import type { LimitKind } from './limits.js';

/** Session ids become folder names: letters, digits, `_` and `-` only. */
const SAFE_SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isSafeSessionId(sessionId: string): boolean {
  return SAFE_SESSION_ID.test(sessionId);
}

/** @throws SpawnError `ERR_BAD_REQUEST` when `sessionId` cannot be a folder name. */
export function assertSessionId(sessionId: string): void {
  if (!isSafeSessionId(sessionId)) {
    throw new SpawnError('ERR_BAD_REQUEST', 'the session id may only hold letters, digits, "_" and "-"');
  }
}

/** Where one session's files live under the provider's apps folder. */
export interface SessionPaths {
  /** `<appsDir>/<sessionId>`: removed as a whole on destroy. */
  readonly sessionDir: string;
  /** The app's files; with `runDir`, the only folders the app may read or write. */
  readonly appDir: string;
  /** The preview bridge's socket, where the service reaches the app. */
  readonly runDir: string;
  /** A new build is extracted here, then renamed to `appDir` once the old process stopped. */
  readonly nextDir: string;
  /** The app's stdout and stderr, outside `appDir` so the app cannot touch it. */
  readonly logFile: string;
  readonly stateFile: string;
}

export function sessionPaths(appsDir: string, sessionId: string): SessionPaths {
  const sessionDir = path.join(appsDir, sessionId);
  return {
    sessionDir,
    appDir: path.join(sessionDir, 'app'),
    runDir: path.join(sessionDir, 'run'),
    nextDir: path.join(sessionDir, 'app.next'),
    logFile: path.join(sessionDir, 'app.log'),
    stateFile: path.join(sessionDir, 'state.json'),
  };
}

/** What `state.json` records about a session's app, so other processes can find it. */
export interface LocalAppState {
  readonly sessionId: string;
  readonly buildId: string;
  /** The app's launcher process (and process group) id; null once it was stopped on purpose. */
  readonly pid: number | null;
  /** The preview URL. */
  readonly url: string;
  /** `bubblewrap`, or `none` for an app run without a sandbox. */
  readonly sandbox: 'bubblewrap' | 'none';
  /** Port on the host, for an app without a sandbox (sandboxed apps have a network of their own). */
  readonly hostPort?: number;
  /** The app's control groups, so any later process can end it and remove them. */
  readonly cgroup?: AppCgroup;
  /** The service process that owns the app, and when it started: an app whose owner died is adopted. */
  readonly ownerPid: number;
  readonly ownerStartedAt?: string;
  /** ISO time the process started. */
  readonly startedAt: string;
  /** ISO time the process was stopped on purpose (close, failed start, a limit). */
  readonly stoppedAt?: string;
  /** Which limit ended it, and why in plain words: the session ends with this reason. */
  readonly limit?: LimitKind;
  readonly stopReason?: string;
}

/**
 * The state in `value`, or undefined when it is none. A state written before apps had a
 * sandbox (a port, no owner) reads as an unsandboxed app whose owner is gone, so the next
 * service adopts and ends it.
 */
function parseState(value: unknown): LocalAppState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const valid =
    typeof v.sessionId === 'string' &&
    typeof v.buildId === 'string' &&
    (v.pid === null || (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0)) &&
    typeof v.startedAt === 'string';
  if (!valid) return undefined;
  if (
    typeof v.url === 'string' &&
    (v.sandbox === 'bubblewrap' || v.sandbox === 'none') &&
    typeof v.ownerPid === 'number'
  )
    return value as LocalAppState;
  if (typeof v.port !== 'number') return undefined;
  const legacy = value as {
    sessionId: string;
    buildId: string;
    pid: number | null;
    startedAt: string;
    port: number;
  };
  return {
    sessionId: legacy.sessionId,
    buildId: legacy.buildId,
    pid: legacy.pid,
    url: '',
    sandbox: 'none',
    hostPort: legacy.port,
    ownerPid: 0,
    startedAt: legacy.startedAt,
  };
}

/** The session's state, or undefined when there is none (or it is unreadable). */
export async function readState(stateFile: string): Promise<LocalAppState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseState(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Writes the state atomically (temp file + rename), so readers never see half of it. */
export async function writeState(stateFile: string, state: LocalAppState): Promise<void> {
  const temp = `${stateFile}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { flag: 'wx' });
    await rename(temp, stateFile);
  } catch (e) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
}

const HAS_PROC = existsSync('/proc/self/cmdline');

/**
 * Whether `pid` is alive and is the app of `appDir`: the kill(0) check alone would be fooled
 * by a reused pid, so where /proc exists the process's command line must name the folder
 * (bubblewrap mounts it, Node's permission model is limited to it).
 */
export async function isAppProcessRunning(pid: number, appDir: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // ESRCH: gone. EPERM: alive, but not ours to signal, as an app handed to `nobody` is not
    // to a service that is not root: /proc decides.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!HAS_PROC) return true;
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return args.includes(appDir) || args.includes(`--allow-fs-read=${appDir}`);
  } catch {
    return false;
  }
}
