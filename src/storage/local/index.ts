import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SpawnError } from '../../errors.js';
import type { BundleStore, StoredBundle } from '../types.js';

export interface LocalBundleStoreOptions {
  /** Folder holding `<sessionId>/<buildId>.tar.gz`; created on first put. */
  readonly dir: string;
}

/** Session and build ids become folder and file names: letters, digits, `_` and `-` only. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const KEY_PATTERN = /^([A-Za-z0-9][A-Za-z0-9_-]{0,127})\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})\.tar\.gz$/;

function assertSafeId(what: string, value: string): void {
  if (!SAFE_ID.test(value)) {
    throw new SpawnError('ERR_BAD_REQUEST', `the ${what} may only hold letters, digits, "_" and "-"`);
  }
}

function storeFailed(action: string, cause: unknown): SpawnError {
  return new SpawnError('ERR_STORE_FAILED', `could not ${action} the bundle on the local disk`, { cause });
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Keeps bundles as files under a local folder: `<dir>/<sessionId>/<buildId>.tar.gz`.
 * `signedUrl` gives a `file://` URL, so only the local provider can use it.
 */
export function createLocalBundleStore(options: LocalBundleStoreOptions): BundleStore {
  const root = path.resolve(options.dir);

  function fileOf(key: string): string {
    const match = KEY_PATTERN.exec(key);
    if (!match) throw new SpawnError('ERR_BAD_REQUEST', 'not a local bundle key');
    return path.join(root, match[1]!, `${match[2]!}.tar.gz`);
  }

  async function existing(key: string): Promise<string> {
    const file = fileOf(key);
    try {
      await stat(file);
    } catch (e) {
      if (isMissing(e)) throw new SpawnError('ERR_NOT_FOUND', 'no such bundle');
      throw storeFailed('read', e);
    }
    return file;
  }

  return {
    name: 'local',

    async put(sessionId: string, buildId: string, tarball: Buffer): Promise<StoredBundle> {
      assertSafeId('session id', sessionId);
      assertSafeId('build id', buildId);
      const key = `${sessionId}/${buildId}.tar.gz`;
      const file = fileOf(key);
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(temp, tarball, { flag: 'wx' });
        await rename(temp, file);
      } catch (e) {
        await rm(temp, { force: true }).catch(() => undefined);
        throw storeFailed('write', e);
      }
      return { key, sha256: createHash('sha256').update(tarball).digest('hex'), bytes: tarball.length };
    },

    async get(key: string): Promise<Buffer> {
      const file = fileOf(key);
      try {
        return await readFile(file);
      } catch (e) {
        if (isMissing(e)) throw new SpawnError('ERR_NOT_FOUND', 'no such bundle');
        throw storeFailed('read', e);
      }
    },

    async signedUrl(key: string, _ttlSeconds: number): Promise<string> {
      return pathToFileURL(await existing(key)).href;
    },

    async delete(key: string): Promise<void> {
      const file = fileOf(key);
      try {
        await rm(file, { force: true });
      } catch (e) {
        throw storeFailed('delete', e);
      }
    },

    async deleteSession(sessionId: string): Promise<void> {
      assertSafeId('session id', sessionId);
      try {
        await rm(path.join(root, sessionId), { recursive: true, force: true });
      } catch (e) {
        throw storeFailed('delete', e);
      }
    },
  };
}
