import { isSpawnError } from '../errors.js';
import { sleep } from '../util/time.js';

/** First pause before retrying a failed call; doubled per attempt. */
export const RETRY_BASE_DELAY_MS = 250;
/** Longest pause between two attempts when the other side names no delay. */
export const RETRY_MAX_DELAY_MS = 5_000;
/** What a rate limit that names no delay is waited out for. */
export const RATE_LIMIT_DEFAULT_WAIT_MS = 1_000;

/** Exponential backoff with jitter (50-100 % of the step), for attempt 1, 2, 3, ... */
export function backoffMs(
  attempt: number,
  random: () => number = Math.random,
  baseMs: number = RETRY_BASE_DELAY_MS,
  maxMs: number = RETRY_MAX_DELAY_MS,
): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step * (0.5 + random() / 2));
}

export interface RetryInfo {
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number;
  readonly waitMs: number;
  readonly error: unknown;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /**
   * How long to wait before the next attempt after `error`, or undefined when this error must
   * not be retried. Default {@link retryableSpawnErrorDelay}.
   */
  readonly delay?: (error: unknown, attempt: number) => number | undefined;
  /** A wait longer than this is not sat out here: the error goes to the caller (who may queue). */
  readonly maxWaitMs?: number;
  /** Ends the waiting early with the signal's reason; no attempt starts once it has aborted. */
  readonly signal?: AbortSignal;
  /** Called before each wait (logging). */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Injected by tests; default: a timer. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A rate limit the other side named (`rate_limited` SpawnError): its own delay; anything else: no retry. */
export function rateLimitDelay(error: unknown): number | undefined {
  if (!isSpawnError(error) || error.kind !== 'rate_limited') return undefined;
  return error.retryAfterMs ?? RATE_LIMIT_DEFAULT_WAIT_MS;
}

/**
 * A retryable SpawnError (`rate_limited` or `unavailable`): the delay it names, else backoff.
 * Anything else is not retried.
 */
export function retryableSpawnErrorDelay(error: unknown, attempt: number): number | undefined {
  if (!isSpawnError(error) || !error.retryable) return undefined;
  return error.retryAfterMs ?? backoffMs(attempt);
}

/**
 * The one retry loop for calls that are not plain HTTP (SDK calls, our own pacing): runs
 * `fn` until it resolves, the policy says an error is final, the attempts are spent, or the
 * wait asked for is longer than `maxWaitMs`; then the last error is thrown as it was.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const delay = policy.delay ?? retryableSpawnErrorDelay;
  const pause = policy.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    policy.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || policy.signal?.aborted) throw error;
      const waitMs = delay(error, attempt);
      if (waitMs === undefined || (policy.maxWaitMs !== undefined && waitMs > policy.maxWaitMs)) throw error;
      policy.onRetry?.({ attempt, waitMs, error });
      await pause(waitMs, policy.signal);
    }
  }
}
