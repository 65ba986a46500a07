import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { packBundle, unpackBundle } from '../../../src/lib/bundle-codec.js';
import { silentLogger } from '../../../src/log.js';
import { createSupabaseBundleStore } from '../../../src/storage/supabase/index.js';
import type { BundleStore } from '../../../src/storage/types.js';
import { FakeSupabase } from '../../fakes/supabase/server.js';
import { rejection } from '../../helpers/errors.js';

const KEY = 'service-role-key-for-tests';
const FILES = [{ path: 'server.js', content: 'require("http").createServer().listen(process.env.PORT)\n' }];

describe('Supabase bundle store (through supabase-js against a local Storage)', () => {
  let fake: FakeSupabase;
  let store: BundleStore;
  let bucket: string;
  let n = 0;

  beforeAll(async () => {
    fake = await new FakeSupabase({ serviceRoleKey: KEY, buckets: ['bundles'] }).start();
  });
  afterAll(async () => {
    await fake?.stop();
  });
  beforeEach(() => {
    bucket = 'bundles';
    store = createSupabaseBundleStore({ url: fake.url, serviceRoleKey: KEY, bucket, logger: silentLogger() });
  });

  function session(): string {
    n += 1;
    return `sess${n}${Date.now().toString(36)}`;
  }

  it('uploads as application/gzip under <session>/<build>.tar.gz and reads it back', async () => {
    const packed = await packBundle(FILES);
    const s = session();
    const stored = await store.put(s, 'build1', packed.tarball);
    expect(store.name).toBe('supabase');
    expect(stored).toEqual({ key: `${s}/build1.tar.gz`, sha256: packed.sha256, bytes: packed.bytes });
    const object = fake.buckets.get('bundles')!.objects.get(`${s}/build1.tar.gz`)!;
    expect(object.contentType).toBe('application/gzip');
    expect(object.body.equals(packed.tarball)).toBe(true);
    const back = await store.get(stored.key);
    expect(await unpackBundle(back)).toEqual(FILES);
    // Putting the same build again (a retried job) replaces it.
    await store.put(s, 'build1', packed.tarball);
    expect(fake.keys('bundles').filter((k) => k.startsWith(`${s}/`))).toEqual([`${s}/build1.tar.gz`]);
  });

  it('signs a URL anyone can download until it expires; a tampered one is refused', async () => {
    const s = session();
    const packed = await packBundle(FILES);
    const stored = await store.put(s, 'b1', packed.tarball);
    const url = await store.signedUrl(stored.key, 3600);
    expect(url.startsWith(`${fake.url}/storage/v1/object/sign/bundles/${s}/b1.tar.gz?token=`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(packed.tarball)).toBe(true);
    const tampered = await fetch(
      url.replace(/token=(.)/, (_m, c: string) => `token=${c === 'a' ? 'b' : 'a'}`),
    );
    expect(tampered.status).toBe(400);
    const otherPath = await fetch(url.replace('b1.tar.gz', 'b2.tar.gz'));
    expect(otherPath.status).toBe(400);
  });

  it('deletes one bundle, and every bundle of a session on destroy', async () => {
    const s = session();
    const other = session();
    await store.put(s, 'b1', Buffer.from('one'));
    await store.put(s, 'b2', Buffer.from('two'));
    await store.put(other, 'b1', Buffer.from('keep'));
    await store.delete(`${s}/b1.tar.gz`);
    expect(fake.keys('bundles').filter((k) => k.startsWith(`${s}/`))).toEqual([`${s}/b2.tar.gz`]);
    await store.deleteSession(s);
    expect(fake.keys('bundles').filter((k) => k.startsWith(`${s}/`))).toEqual([]);
    expect(fake.keys('bundles')).toContain(`${other}/b1.tar.gz`);
    // Again, and for a session that never had bundles: nothing to do, no error.
    await store.deleteSession(s);
    await store.delete(`${s}/b1.tar.gz`);
    expect((await rejection(store.get(`${s}/b2.tar.gz`))).code).toBe('ERR_NOT_FOUND');
  });

  it('creates a missing bucket, private, on the first upload', async () => {
    const name = `fresh${Date.now().toString(36)}`;
    const fresh = createSupabaseBundleStore({
      url: fake.url,
      serviceRoleKey: KEY,
      bucket: name,
      logger: silentLogger(),
    });
    const stored = await fresh.put(session(), 'b1', Buffer.from('x'));
    expect(fake.buckets.get(name)?.public).toBe(false);
    expect(fake.keys(name)).toEqual([stored.key]);
  });

  it('retries a Storage that answers 503 for a moment', async () => {
    fake.failNext(2, 503);
    const stored = await store.put(session(), 'b1', Buffer.from('after the hiccup'));
    expect((await store.get(stored.key)).toString()).toBe('after the hiccup');
  });

  it('fails with ERR_STORE_FAILED when Storage keeps failing, and changes nothing', async () => {
    const s = session();
    fake.failNext(3, 500);
    const e = await rejection(store.put(s, 'b1', Buffer.from('x')));
    expect(e.code).toBe('ERR_STORE_FAILED');
    expect(e.retryable).toBe(true);
    expect(fake.keys('bundles').filter((k) => k.startsWith(`${s}/`))).toEqual([]);
  });

  it('says the service role key is wrong without printing it', async () => {
    const wrong = createSupabaseBundleStore({
      url: fake.url,
      serviceRoleKey: 'not-the-key-123',
      bucket,
      logger: silentLogger(),
    });
    const e = await rejection(wrong.put(session(), 'b1', Buffer.from('x')));
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.message).toContain('SUPABASE_SERVICE_ROLE_KEY');
    expect(e.message).not.toContain('not-the-key-123');
    expect(e.retryable).toBe(false);
  });

  it('refuses unsafe ids and keys before any request', async () => {
    expect((await rejection(store.put('../etc', 'b1', Buffer.from('x')))).code).toBe('ERR_BAD_REQUEST');
    expect((await rejection(store.get('../../secret.tar.gz'))).code).toBe('ERR_BAD_REQUEST');
    expect((await rejection(store.deleteSession('a/b'))).code).toBe('ERR_BAD_REQUEST');
  });
});
