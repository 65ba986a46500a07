import type { Logger } from '../../log.js';
import { backoffMs, retryAfterMs } from '../../provision/resilience/retry.js';
import { sleep } from '../../util/time.js';

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
    const callerSignal = init?.signal ?? undefined;
    const canRetry = replayable(init?.body);
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
      let res: Response;
      try {
        res = await fetch(input, { ...init, signal });
      } catch (e) {
        if (callerSignal?.aborted || !canRetry || attempt >= SUPABASE_MAX_ATTEMPTS) throw e;
        const wait = backoffMs(attempt);
        logger.warn(
          { attempt, waitMs: wait, err: (e as Error).name },
          'Supabase Storage request failed; retrying',
        );
        await sleep(wait, callerSignal);
        continue;
      }
      if ((res.status === 429 || res.status >= 500) && canRetry && attempt < SUPABASE_MAX_ATTEMPTS) {
        const wait = retryAfterMs(res.headers) ?? backoffMs(attempt);
        if (wait <= SUPABASE_MAX_RETRY_WAIT_MS) {
          await res.arrayBuffer().catch(() => undefined);
          logger.warn(
            { attempt, status: res.status, waitMs: wait },
            'Supabase Storage answered an error; retrying',
          );
          await sleep(wait, callerSignal);
          continue;
        }
      }
      return res;
    }
  };
}
