import { createHash } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';
import { SpawnError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BundleStore, StoredBundle } from '../types.js';
import { resilientFetch, SUPABASE_REQUEST_TIMEOUT_MS } from './fetch.js';

/** Content type of every bundle (a gzipped tar); supabase-js would send text/plain for a Buffer. */
export const BUNDLE_CONTENT_TYPE = 'application/gzip';
/** Shortest lifetime of a signed URL, in seconds. */
const SIGNED_URL_MIN_SECONDS = 60;
/** Objects listed per page when deleting a session's bundles. */
const LIST_PAGE_SIZE = 1000;
/** A session never has this many pages of bundles; past it something is wrong (no endless loop). */
const MAX_DELETE_PAGES = 100;

export interface SupabaseBundleStoreOptions {
  /** Project URL (SUPABASE_URL). */
  readonly url: string;
  /** Service role key (SUPABASE_SERVICE_ROLE_KEY); never logged. */
  readonly serviceRoleKey: string;
  /** Bucket of the bundles (SUPABASE_BUCKET); created, private, when missing. */
  readonly bucket: string;
  readonly logger: Logger;
  /** Default {@link SUPABASE_REQUEST_TIMEOUT_MS}. */
  readonly requestTimeoutMs?: number;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\/[A-Za-z0-9][A-Za-z0-9_-]{0,127}\.tar\.gz$/;

function assertSafeId(what: string, value: string): void {
  if (!SAFE_ID.test(value)) {
    throw new SpawnError('ERR_BAD_REQUEST', `the ${what} may only hold letters, digits, "_" and "-"`);
  }
}

function assertKey(key: string): void {
  if (!KEY_PATTERN.test(key)) throw new SpawnError('ERR_BAD_REQUEST', 'not a bundle key');
}

/** What supabase-js errors carry: an HTTP status, Storage's own status code, a message. */
interface SdkError {
  readonly message?: string;
  readonly status?: number;
  readonly statusCode?: string;
}

function statusOf(e: SdkError): number | undefined {
  const code = Number(e.statusCode);
  return Number.isInteger(code) && code >= 400 ? code : e.status;
}

function isNotFound(e: SdkError): boolean {
  return statusOf(e) === 404 || /not.?found/i.test(e.message ?? '');
}

function isBucketMissing(e: SdkError): boolean {
  return /bucket not found/i.test(e.message ?? '');
}

/** Maps a supabase-js error onto ours, without the signed URL or the key. */
function storeError(action: string, e: SdkError): SpawnError {
  const status = statusOf(e);
  const detail = `${status ? `HTTP ${status}: ` : ''}${(e.message ?? 'unknown error').slice(0, 200)}`;
  if (status === 401 || status === 403 || /invalid (jwt|signature)|unauthori[sz]ed/i.test(e.message ?? '')) {
    return new SpawnError(
      'ERR_CONFIG',
      `Supabase Storage refused our credentials while trying to ${action} (${detail}); check SUPABASE_SERVICE_ROLE_KEY`,
      { userMessage: 'The app store of this server is misconfigured; the operator needs to fix it.' },
    );
  }
  if (isNotFound(e)) return new SpawnError('ERR_NOT_FOUND', 'no such bundle');
  return new SpawnError('ERR_STORE_FAILED', `Supabase Storage: could not ${action} (${detail})`, {
    cause: e,
  });
}

/**
 * Keeps bundles in a Supabase Storage bucket as `<sessionId>/<buildId>.tar.gz` (private),
 * through supabase-js with a timeout and retries per request. `signedUrl` gives a URL a cloud
 * provider can download for `ttlSeconds`.
 */
export function createSupabaseBundleStore(options: SupabaseBundleStoreOptions): BundleStore {
  const logger = options.logger.child({ module: 'storage/supabase' });
  const client = createClient(options.url, options.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: resilientFetch(logger, options.requestTimeoutMs ?? SUPABASE_REQUEST_TIMEOUT_MS) },
    // Storage only: supabase-js builds a realtime client it never connects; on Node 20 it
    // needs a WebSocket class to construct one. Ours refuses to be used.
    realtime: {
      transport: class NoRealtime {
        constructor() {
          throw new Error('realtime is not used by the bundle store');
        }
      } as never,
    },
  });
  const bucket = () => client.storage.from(options.bucket);

  async function createBucket(): Promise<void> {
    const { error } = await client.storage.createBucket(options.bucket, { public: false });
    if (error && !/already exists/i.test(error.message)) throw storeError('create the bucket', error);
    logger.info({ bucket: options.bucket }, 'bucket created');
  }

  async function upload(key: string, tarball: Buffer): Promise<SdkError | null> {
    const { error } = await bucket().upload(key, tarball, {
      contentType: BUNDLE_CONTENT_TYPE,
      upsert: true,
      cacheControl: '0',
    });
    return error;
  }

  return {
    name: 'supabase',

    async put(sessionId: string, buildId: string, tarball: Buffer): Promise<StoredBundle> {
      assertSafeId('session id', sessionId);
      assertSafeId('build id', buildId);
      const key = `${sessionId}/${buildId}.tar.gz`;
      let error = await upload(key, tarball);
      if (error && isBucketMissing(error)) {
        await createBucket();
        error = await upload(key, tarball);
      }
      if (error) throw storeError('upload the bundle', error);
      return { key, sha256: createHash('sha256').update(tarball).digest('hex'), bytes: tarball.length };
    },

    async get(key: string): Promise<Buffer> {
      assertKey(key);
      const { data, error } = await bucket().download(key);
      if (error) throw storeError('download the bundle', error);
      return Buffer.from(await data.arrayBuffer());
    },

    async signedUrl(key: string, ttlSeconds: number): Promise<string> {
      assertKey(key);
      const expiresIn = Math.max(SIGNED_URL_MIN_SECONDS, Math.round(ttlSeconds));
      const { data, error } = await bucket().createSignedUrl(key, expiresIn);
      if (error) throw storeError('sign a download URL', error);
      return data.signedUrl;
    },

    async delete(key: string): Promise<void> {
      assertKey(key);
      const { error } = await bucket().remove([key]);
      if (error && !isNotFound(error)) throw storeError('delete the bundle', error);
    },

    async deleteSession(sessionId: string): Promise<void> {
      assertSafeId('session id', sessionId);
      for (let page = 0; page < MAX_DELETE_PAGES; page++) {
        const { data, error } = await bucket().list(sessionId, { limit: LIST_PAGE_SIZE, offset: 0 });
        if (error) {
          if (isNotFound(error)) return;
          throw storeError("list the session's bundles", error);
        }
        const keys = data.filter((o) => o.name).map((o) => `${sessionId}/${o.name}`);
        if (keys.length === 0) return;
        const removed = await bucket().remove(keys);
        if (removed.error) throw storeError("delete the session's bundles", removed.error);
        if (keys.length < LIST_PAGE_SIZE) return;
      }
      throw new SpawnError(
        'ERR_STORE_FAILED',
        `Supabase Storage: more than ${MAX_DELETE_PAGES} pages of bundles`,
      );
    },
  };
}
