import { fetchWithRetry, HttpUnreachableError } from '../../lib/http.js';
import type { Logger } from '../../log.js';

/** Longest time one request to Supabase Storage may take. */
export const SUPABASE_REQUEST_TIMEOUT_MS = 20_000;
/** Attempts per request (the first included) on 429, 5xx and network errors. */
export const SUPABASE_MAX_ATTEMPTS = 3;
/** A 429/503 asking for a longer pause than this is not waited out. */
const SUPABASE_MAX_RETRY_WAIT_MS = 10_000;

/** Bodies that can be sent again as they are (streams and forms cannot). */
function replayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer
  );
}

/**
 * The `fetch` given to supabase-js: a timeout per request and bounded retries with backoff on
 * 429, 5xx and network errors, honouring `Retry-After`. Every Storage call SpawnAI makes is
 * safe to repeat (uploads are upserts of the same bytes, deletes and signing are idempotent).
 */
export function resilientFetch(logger: Logger, timeoutMs = SUPABASE_REQUEST_TIMEOUT_MS): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchWithRetry(input, init, {
        timeoutMs,
        maxAttempts: replayable(init?.body) ? SUPABASE_MAX_ATTEMPTS : 1,
        maxRetryWaitMs: SUPABASE_MAX_RETRY_WAIT_MS,
        onRetry: ({ attempt, status, reason, waitMs }) =>
          logger.warn(
            { attempt, ...(status !== undefined ? { status } : { err: reason }), waitMs },
            status !== undefined
              ? 'Supabase Storage answered an error; retrying'
              : 'Supabase Storage request failed; retrying',
          ),
      });
    } catch (e) {
      // supabase-js tells a failed fetch from an answered one by what fetch threw: hand it that.
      throw e instanceof HttpUnreachableError ? e.cause : e;
    }
  };
}
