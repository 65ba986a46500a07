import { sleep } from '../util/time.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { backoffMs } from './retry.js';
import { retryAfterMs } from './retry-after.js';

/** Longest time one request may take, unless the caller says otherwise. */
export const HTTP_REQUEST_TIMEOUT_MS = 15_000;
/** Attempts per request (the first included) on 429, 5xx and network errors. */
export const HTTP_MAX_ATTEMPTS = 4;
/** A 429 or 5xx asking for a longer pause than this is not waited out inside one request. */
export const HTTP_MAX_RETRY_WAIT_MS = 10_000;

/**
 * The service could not be reached: a network error, or no answer within the timeout. The
 * other half of a failure, "the service answered with an error", is a Response with its
 * status (see {@link HttpStatusError} for callers that throw it), never this.
 */
export class HttpUnreachableError extends Error {
  /** A short, secret-free reason: "ECONNREFUSED", "no answer within 15 s". */
  readonly reason: string;
  readonly timedOut: boolean;
  /** The connection was refused: nothing was sent, so even a create may be sent again. */
  readonly neverSent: boolean;

  constructor(cause: unknown, timeoutMs: number) {
    const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
    const reason = describeNetworkError(cause, timeoutMs);
    super(`could not reach the service (${reason})`, { cause });
    this.name = 'HttpUnreachableError';
    this.reason = reason;
    this.timedOut = timedOut;
    this.neverSent = errnoCode(cause) === 'ECONNREFUSED';
  }
}

/** The service answered, with an error status: it said no (or was failing), it was not out of reach. */
export class HttpStatusError extends Error {
  readonly status: number;
  /** The delay the answer asked for (Retry-After and the rate-limit reset headers), if any. */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, headers: Headers, message = `HTTP ${status}`) {
    super(message);
    this.name = 'HttpStatusError';
    this.status = status;
    this.retryAfterMs = retryAfterMs(headers);
  }
}

function errnoCode(e: unknown): string | undefined {
  const code = ((e as { cause?: unknown } | undefined)?.cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeNetworkError(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && e.name === 'TimeoutError') {
    return `no answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`;
  }
  const code = errnoCode(e);
  if (code !== undefined) return code;
  return e instanceof Error ? e.message : String(e);
}

export interface HttpRetryInfo {
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number;
  readonly waitMs: number;
  /** The status of the answer, or undefined when there was none. */
  readonly status?: number;
  readonly reason: string;
}

export interface HttpOptions {
  /** Per attempt. Default {@link HTTP_REQUEST_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Default {@link HTTP_MAX_ATTEMPTS}; 1 turns retries off. */
  readonly maxAttempts?: number;
  /** Default {@link HTTP_MAX_RETRY_WAIT_MS}. */
  readonly maxRetryWaitMs?: number;
  /**
   * Whether sending it twice is harmless when the first outcome is unknown (a timeout, a
   * 5xx). Default true. A request refused with 429, or that never connected, is retried
   * either way.
   */
  readonly idempotent?: boolean;
  /** Counts failures of the service; an open circuit fails the request before it is sent. */
  readonly breaker?: CircuitBreaker;
  /** Called before each wait (logging). */
  readonly onRetry?: (info: HttpRetryInfo) => void;
  /** Injected by tests. */
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

/** Statuses worth another attempt: the service is failing, or asked us to slow down. */
function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The one HTTP client mechanism: a timeout per attempt, bounded retries with backoff and
 * jitter on 429, 5xx and network errors (honouring `Retry-After` and the rate-limit reset
 * headers), and an optional circuit breaker.
 *
 * Resolves with the last answer, whatever its status (the service answered: the caller maps
 * the status). Rejects with {@link HttpUnreachableError} when the service could not be
 * reached, with the breaker's error when its circuit is open, or with the caller's
 * `init.signal` reason when that aborts. `init.body` must be replayable (a string or bytes)
 * when retries are on.
 */
export async function fetchWithRetry(
  input: string | URL | Request,
  init: RequestInit = {},
  options: HttpOptions = {},
): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? HTTP_REQUEST_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? HTTP_MAX_ATTEMPTS;
  const maxWait = options.maxRetryWaitMs ?? HTTP_MAX_RETRY_WAIT_MS;
  const idempotent = options.idempotent ?? true;
  const doFetch = options.fetch ?? fetch;
  const pause = options.sleep ?? sleep;
  const callerSignal = init.signal ?? undefined;
  const { breaker } = options;
  for (let attempt = 1; ; attempt++) {
    callerSignal?.throwIfAborted();
    breaker?.check();
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(input, {
        ...init,
        signal: callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout,
      });
    } catch (e) {
      if (callerSignal?.aborted) {
        breaker?.release();
        throw callerSignal.reason;
      }
      const error = new HttpUnreachableError(e, timeoutMs);
      breaker?.failure(error.reason);
      if ((!idempotent && !error.neverSent) || attempt >= maxAttempts) throw error;
      const waitMs = backoffMs(attempt, options.random);
      options.onRetry?.({ attempt, waitMs, reason: error.reason });
      await pause(waitMs, callerSignal);
      continue;
    }
    if (res.status >= 500) breaker?.failure(`HTTP ${res.status}`);
    else breaker?.success();
    if (!retryableStatus(res.status) || attempt >= maxAttempts) return res;
    // A 5xx may have done the work: only an idempotent request is sent again.
    if (res.status >= 500 && !idempotent) return res;
    const waitMs = retryAfterMs(res.headers) ?? backoffMs(attempt, options.random);
    if (waitMs > maxWait) return res;
    await res.body?.cancel().catch(() => undefined);
    options.onRetry?.({ attempt, waitMs, status: res.status, reason: `HTTP ${res.status}` });
    await pause(waitMs, callerSignal);
  }
}
