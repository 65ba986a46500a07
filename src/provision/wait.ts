import { SpawnError } from '../errors.js';
import { retry } from '../lib/retry.js';
import { fetchLoopback } from '../util/loopback-fetch.js';

/** Longest pause between two attempts, unless the caller sets `intervalMs`. */
export const WAIT_HTTP_INTERVAL_MS = 500;
/**
 * The first pause: most apps answer within a few tens of milliseconds of being started, so the
 * pauses start short and double up to the interval instead of costing every deploy 500 ms.
 */
export const WAIT_HTTP_FIRST_INTERVAL_MS = 25;
/** An attempt is only started with at least this much time left (the first one always is). */
const WAIT_HTTP_MIN_ATTEMPT_MS = 250;
/** Longest a single attempt may take before it counts as failed. */
export const WAIT_HTTP_REQUEST_TIMEOUT_MS = 5_000;

/** What one attempt saw: an HTTP status, or why there was none. */
export interface WaitAttempt {
  readonly attempt: number;
  readonly status?: number;
  readonly error?: string;
}

export interface WaitForHttpOkOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Longest pause between attempts (they start shorter); default {@link WAIT_HTTP_INTERVAL_MS}. */
  readonly intervalMs?: number;
  /** Called after every attempt that did not answer 200. */
  readonly onAttempt?: (attempt: WaitAttempt) => void;
}

/**
 * The error to throw when `signal` ended an operation: its reason if that is already a
 * SpawnError, else an `ERR_DEPLOY_TIMEOUT` saying it was cancelled.
 */
export function cancelledError(signal: AbortSignal, what: string): SpawnError {
  const reason: unknown = signal.reason;
  if (reason instanceof SpawnError) return reason;
  return new SpawnError('ERR_DEPLOY_TIMEOUT', `${what} was cancelled`, { cause: reason });
}

/** A short, secret-free description of why a fetch failed ("ECONNREFUSED", "timeout"). */
function describeFetchError(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'no answer within the request timeout';
    const cause = (e as { cause?: unknown }).cause;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string') return code;
    if (cause instanceof Error) return cause.message;
    return e.message;
  }
  return String(e);
}

/**
 * Polls `url` with GET until it answers 200, each request bounded by
 * {@link WAIT_HTTP_REQUEST_TIMEOUT_MS} (and by what is left of `timeoutMs`).
 *
 * @throws SpawnError `ERR_DEPLOY_TIMEOUT` with the last status or error seen when `timeoutMs`
 * passes, or when `signal` aborts.
 */
export async function waitForHttpOk(url: string, options: WaitForHttpOkOptions): Promise<void> {
  const { timeoutMs, signal } = options;
  const intervalMs = options.intervalMs ?? WAIT_HTTP_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt finished';
  /** An attempt that saw no 200: the app is not up yet. */
  const notYet = new Error('not yet');
  try {
    await retry(
      async (attempt) => {
        const left = deadline - Date.now();
        const timeout = AbortSignal.timeout(Math.max(1, Math.min(WAIT_HTTP_REQUEST_TIMEOUT_MS, left)));
        const requestSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
        try {
          // Local previews are `<app>.localhost`, which only browsers (and fetchLoopback) resolve.
          const res = await fetchLoopback(url, { signal: requestSignal, redirect: 'follow' });
          await res.arrayBuffer().catch(() => undefined);
          if (res.status === 200) return;
          last = `HTTP ${res.status}`;
          options.onAttempt?.({ attempt, status: res.status });
        } catch (e) {
          if (signal?.aborted) throw e;
          last = describeFetchError(e);
          options.onAttempt?.({ attempt, error: last });
        }
        throw notYet;
      },
      {
        attempts: Number.POSITIVE_INFINITY,
        ...(signal ? { signal } : {}),
        delay: (e, attempt) => {
          if (e !== notYet) return undefined;
          const left = deadline - Date.now();
          const pause = Math.min(intervalMs, WAIT_HTTP_FIRST_INTERVAL_MS * 2 ** Math.max(0, attempt - 1));
          const wait = Math.min(pause, left);
          // A last attempt with a few milliseconds left would only report its own timeout.
          return wait > 0 && left - wait >= WAIT_HTTP_MIN_ATTEMPT_MS ? wait : undefined;
        },
      },
    );
    return;
  } catch (e) {
    if (signal?.aborted) throw cancelledError(signal, 'waiting for the app');
    if (e !== notYet) throw e;
  }
  throw new SpawnError(
    'ERR_DEPLOY_TIMEOUT',
    `the app did not answer HTTP 200 within ${Math.round(timeoutMs / 100) / 10} s (last: ${last})`,
  );
}
