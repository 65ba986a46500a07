import { SpawnError } from '../../src/errors.js';
import { sleep } from '../../src/util/time.js';

/** Most rate-limit waits outside a queued job worth sitting out (interaction follow-ups, replies). */
const MAX_INLINE_RETRY_WAIT_MS = 15_000;
const INLINE_ATTEMPTS = 3;

/**
 * For calls made outside a job (interaction follow-ups, gateway replies), where no queue can
 * delay a retry: waits out a rate limit the platform named, a few times, then gives up.
 */
export async function withRateLimitRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const waitMs =
        e instanceof SpawnError && e.kind === 'rate_limited' ? (e.retryAfterMs ?? 1000) : undefined;
      if (waitMs === undefined || attempt >= INLINE_ATTEMPTS || waitMs > MAX_INLINE_RETRY_WAIT_MS) throw e;
      await sleep(waitMs);
    }
  }
}
