import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SpawnError } from '../../errors.js';

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
  /** The app's files; the only folder the app may read or write. */
  readonly appDir: string;
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
    nextDir: path.join(sessionDir, 'app.next'),
    logFile: path.join(sessionDir, 'app.log'),
    stateFile: path.join(sessionDir, 'state.json'),
  };
}

/** What `state.json` records about a session's app, so other processes can find it. */
export interface LocalAppState {
  readonly sessionId: string;
  readonly buildId: string;
  /** The app's process (and process group) id; null once it was stopped on purpose. */
  readonly pid: number | null;
  readonly port: number;
  /** ISO time the process started. */
  readonly startedAt: string;
  /** ISO time the process was stopped on purpose (close, failed start). */
  readonly stoppedAt?: string;
}

function isState(value: unknown): value is LocalAppState {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.sessionId === 'string' &&
    typeof v.buildId === 'string' &&
    (v.pid === null || (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0)) &&
    typeof v.port === 'number' &&
    Number.isInteger(v.port) &&
    typeof v.startedAt === 'string'
  );
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
    const parsed: unknown = JSON.parse(text);
    return isState(parsed) ? parsed : undefined;
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
 * by a reused pid, so where /proc exists the process's command line must name the folder.
 */
export async function isAppProcessRunning(pid: number, appDir: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // ESRCH: gone; EPERM: someone else's process, so not our app
  }
  if (!HAS_PROC) return true;
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return args.includes(`--allow-fs-read=${appDir}`);
  } catch {
    return false;
  }
}
