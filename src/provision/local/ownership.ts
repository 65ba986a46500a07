import { lchown, lstat, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processStartTime } from './process.js';
import { cgroupFolderName } from './sandbox.js';

/** Who owns something on disk: a service process, told apart from a later one with its pid. */
export interface Owner {
  readonly pid: number;
  readonly startedAt?: string | undefined;
}

let self: Promise<Owner> | undefined;
/** This process as an owner. */
export function thisProcess(): Promise<Owner> {
  self ??= processStartTime(process.pid).then((startedAt) => ({ pid: process.pid, startedAt }));
  return self;
}

/** Whether the owner still runs (a pid now used by another process does not count). */
export async function ownerAlive(owner: Owner): Promise<boolean> {
  if (owner.pid <= 0) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!owner.startedAt) return true;
  return (await processStartTime(owner.pid)) === owner.startedAt;
}

/** Gives the tree at `dir` to `uid`:`gid` (symlinks themselves, never their targets). */
export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await lchown(dir, uid, gid);
  for (const name of await readdir(dir)) {
    const full = path.join(dir, name);
    const stat = await lstat(full);
    if (stat.isDirectory()) await chownTree(full, uid, gid);
    else await lchown(full, uid, gid);
  }
}

/** Unix socket paths hold at most 107 bytes (Linux); longer app folders are reached through a link. */
const SOCKET_BASE_MAX_CHARS = 64;

/**
 * The folder the service connects to apps' sockets through: `appsDir` itself, or, when its
 * path is too long for a socket address, a symbolic link to it in the temp folder.
 */
export async function socketBase(appsDir: string): Promise<string> {
  if (appsDir.length <= SOCKET_BASE_MAX_CHARS) return appsDir;
  const link = path.join(os.tmpdir(), cgroupFolderName(appsDir));
  try {
    if ((await readlink(link)) === appsDir) return link;
  } catch {
    // no link yet
  }
  await rm(link, { force: true });
  try {
    await symlink(appsDir, link);
  } catch (e) {
    // Another provider of the same folder made it meanwhile.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || (await readlink(link)) !== appsDir) throw e;
  }
  return link;
}

/** Who holds the preview port of an apps folder, so a second provider of it shares instead of failing. */
export interface ProxyHolder extends Owner {
  readonly port: number;
}

export async function readProxyHolder(file: string): Promise<ProxyHolder | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<ProxyHolder>;
    if (typeof value.pid === 'number' && typeof value.port === 'number') {
      return { pid: value.pid, port: value.port, startedAt: value.startedAt };
    }
  } catch {
    // none, or unreadable
  }
  return undefined;
}

export async function writeProxyHolder(file: string, holder: ProxyHolder): Promise<void> {
  await writeFile(file, `${JSON.stringify(holder)}\n`);
}
