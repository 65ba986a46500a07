import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packBundle, unpackBundle } from '../../../src/lib/bundle-codec.js';
import { createLocalBundleStore } from '../../../src/storage/local/index.js';
import type { BundleStore } from '../../../src/storage/types.js';

const FILES = [{ path: 'server.js', content: 'console.log("hi")\n' }];

describe('local bundle store', () => {
  let dir: string;
  let store: BundleStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spawnai-store-'));
    store = createLocalBundleStore({ dir: path.join(dir, 'bundles') });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts a bundle at <session>/<build>.tar.gz and gets it back', async () => {
    const packed = await packBundle(FILES);
    const stored = await store.put('sess1', 'build1', packed.tarball);
    expect(store.name).toBe('local');
    expect(stored).toEqual({ key: 'sess1/build1.tar.gz', sha256: packed.sha256, bytes: packed.bytes });
    const onDisk = await readFile(path.join(dir, 'bundles', 'sess1', 'build1.tar.gz'));
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(packed.sha256);
    const back = await store.get(stored.key);
    expect(back.equals(packed.tarball)).toBe(true);
    expect(await unpackBundle(back)).toEqual(FILES);
    // Written through a temp file: nothing else is left in the folder.
    expect(await readdir(path.join(dir, 'bundles', 'sess1'))).toEqual(['build1.tar.gz']);
  });

  it('replaces a bundle put again under the same ids', async () => {
    await store.put('sess1', 'build1', Buffer.from('first'));
    const second = await store.put('sess1', 'build1', Buffer.from('second'));
    expect((await store.get(second.key)).toString()).toBe('second');
  });

  it('gives a file:// URL of the bundle', async () => {
    const { key } = await store.put('sess1', 'build1', Buffer.from('bytes'));
    const url = await store.signedUrl(key, 600);
    expect(url.startsWith('file://')).toBe(true);
    expect(await readFile(fileURLToPath(url), 'utf8')).toBe('bytes');
  });

  it('deletes a bundle; deleting a missing one is fine', async () => {
    const { key } = await store.put('sess1', 'build1', Buffer.from('bytes'));
    await store.delete(key);
    await expect(store.get(key)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(store.signedUrl(key, 60)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await store.delete(key);
  });

  it('deletes every bundle of a session and leaves the others', async () => {
    await store.put('sess1', 'build1', Buffer.from('1'));
    await store.put('sess1', 'build2', Buffer.from('2'));
    const other = await store.put('sess2', 'build1', Buffer.from('3'));
    await store.deleteSession('sess1');
    expect(await readdir(path.join(dir, 'bundles'))).toEqual(['sess2']);
    expect((await store.get(other.key)).toString()).toBe('3');
    await store.deleteSession('sess1');
    await store.deleteSession('never-there');
  });

  it.each(['../x', 'a/b', '', '.hidden', 'a b'])('refuses the unsafe id %j', async (id) => {
    await expect(store.put(id, 'build1', Buffer.from('x'))).rejects.toMatchObject({
      code: 'ERR_BAD_REQUEST',
    });
    await expect(store.put('sess1', id, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    await expect(store.deleteSession(id)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
  });

  it.each(['../sess1/build1.tar.gz', 'sess1/build1', '/etc/passwd', 'sess1/../../x.tar.gz'])(
    'refuses the malformed key %j',
    async (key) => {
      await expect(store.get(key)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
      await expect(store.delete(key)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
      await expect(store.signedUrl(key, 60)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    },
  );
});
