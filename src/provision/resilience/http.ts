import { SpawnError } from '../../errors.js';
import type { CircuitBreaker } from '../../lib/circuit-breaker.js';
import {
  fetchWithRetry,
  HTTP_MAX_ATTEMPTS,
  HTTP_MAX_RETRY_WAIT_MS,
  HttpUnreachableError,
} from '../../lib/http.js';
import { backoffMs } from '../../lib/retry.js';
import { retryAfterMs } from '../../lib/retry-after.js';
import type { Logger } from '../../log.js';
import { cancelledError } from '../wait.js';

/** Longest time one request to a provider's API may take. */
export const PROVIDER_REQUEST_TIMEOUT_MS = 15_000;
/** Attempts per request (the first included) on 429, 5xx and network errors. */
export const PROVIDER_MAX_ATTEMPTS = HTTP_MAX_ATTEMPTS;
/** A 429 asking for a longer pause than this is not waited out inside one request. */
export const PROVIDER_MAX_RETRY_WAIT_MS = HTTP_MAX_RETRY_WAIT_MS;
/** Longest provider error text quoted in our messages. */
const PROVIDER_MESSAGE_MAX_CHARS = 200;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ProviderHttpOptions {
  /** The provider as people know it ("Railway"); used in every message. */
  readonly label: string;
  /** Requests go to `baseUrl + path`. */
  readonly baseUrl: string;
  /** Sent with every request (authorization). Never logged or quoted. */
  readonly headers: Readonly<Record<string, string>>;
  /** The variable holding the credential, named when the provider rejects it. */
  readonly credentialVar: string;
  readonly breaker: CircuitBreaker;
  readonly logger: Logger;
  /** Default {@link PROVIDER_REQUEST_TIMEOUT_MS}. */
  readonly requestTimeoutMs?: number;
  /** Default {@link PROVIDER_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
  /** Default {@link PROVIDER_MAX_RETRY_WAIT_MS}. */
  readonly maxRetryWaitMs?: number;
}

export interface ProviderRequest {
  readonly method: HttpMethod;
  /** Appended to the base URL ("" for a GraphQL endpoint). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** What the request does, for messages ("create the service"). */
  readonly what: string;
  /**
   * Whether sending it twice is harmless when the first outcome is unknown (a timeout, a
   * 5xx). Default: true for GET, PUT and DELETE, false for POST and PATCH. A request the
   * provider refused with 429, or that never connected, is retried either way.
   */
  readonly idempotent?: boolean;
  /** Statuses handed back to the caller instead of thrown (e.g. 404 of a lookup). */
  readonly accept?: readonly number[];
}

export interface ProviderResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, the raw text when it is not JSON, or undefined when empty. */
  readonly body: unknown;
}

/** Provider text for our messages: one line, no URLs with query strings (signed URLs), bounded. */
export function scrubProviderText(text: string): string {
  const oneLine = text
    .replace(/https?:\/\/\S+\?\S*/g, '[url]')
    .replace(/\s+/g, ' ')
    .trim();
  return oneLine.length > PROVIDER_MESSAGE_MAX_CHARS
    ? `${oneLine.slice(0, PROVIDER_MESSAGE_MAX_CHARS - 3)}...`
    : oneLine;
}

/** The error text a provider put in its body: Render `{message}`, Supabase `{message}`, or plain text. */
function providerMessage(body: unknown): string {
  if (typeof body === 'string') return scrubProviderText(body);
  if (typeof body === 'object' && body !== null) {
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string') return scrubProviderText(message);
  }
  return '';
}

/**
 * The one HTTP client of the cloud providers: a timeout per request, bounded retries with
 * backoff on 429, 5xx and network errors (honouring `Retry-After`, `X-RateLimit-Reset` and
 * `Ratelimit-Reset`), the provider's circuit breaker, and every failure mapped onto a
 * SpawnError: `ERR_CONFIG` (credentials refused), `ERR_NOT_FOUND`, `ERR_RATE_LIMITED` (with
 * `retryAfterMs`), `ERR_PROVIDER_UNAVAILABLE`, or `ERR_DEPLOY_FAILED` (any other refusal).
 * Credentials and signed URLs never appear in an error or a log line.
 */
export class ProviderHttp {
  readonly label: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxRetryWaitMs: number;
  private readonly logger: Logger;

  constructor(private readonly options: ProviderHttpOptions) {
    this.label = options.label;
    this.timeoutMs = options.requestTimeoutMs ?? PROVIDER_REQUEST_TIMEOUT_MS;
    this.maxAttempts = options.maxAttempts ?? PROVIDER_MAX_ATTEMPTS;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? PROVIDER_MAX_RETRY_WAIT_MS;
    this.logger = options.logger;
  }

  get breaker(): CircuitBreaker {
    return this.options.breaker;
  }

  private url(req: ProviderRequest): string {
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, '')}${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  private unavailable(req: ProviderRequest, reason: string, retryAfter?: number): SpawnError {
    return new SpawnError('ERR_PROVIDER_UNAVAILABLE', `${this.label}: could not ${req.what} (${reason})`, {
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
      userMessage: `${this.label} is not answering properly right now; please try again in a few minutes.`,
    });
  }

  /** Sends one logical request, retrying as described on the class. */
  async request(req: ProviderRequest): Promise<ProviderResponse> {
    const idempotent =
      req.idempotent ?? (req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE');
    const started = Date.now();
    let res: Response;
    try {
      res = await fetchWithRetry(
        this.url(req),
        {
          method: req.method,
          headers: {
            accept: 'application/json',
            ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...this.options.headers,
          },
          ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          ...(req.signal ? { signal: req.signal } : {}),
        },
        {
          timeoutMs: this.timeoutMs,
          maxAttempts: this.maxAttempts,
          maxRetryWaitMs: this.maxRetryWaitMs,
          idempotent,
          breaker: this.options.breaker,
          onRetry: ({ attempt, status, reason, waitMs }) =>
            this.logger.warn(
              { what: req.what, attempt, ...(status !== undefined ? { status } : { reason }), waitMs },
              status === 429 ? `${this.label} rate limit; waiting` : `${this.label} request failed; retrying`,
            ),
        },
      );
    } catch (e) {
      if (req.signal?.aborted) throw cancelledError(req.signal, `${this.label}: ${req.what}`);
      if (e instanceof HttpUnreachableError) throw this.unavailable(req, e.reason);
      throw e;
    }
    const text = await res.text().catch(() => '');
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    this.logger.debug(
      { method: req.method, path: req.path, status: res.status, ms: Date.now() - started },
      `${this.label} API`,
    );

    if (res.status >= 500) {
      const detail = providerMessage(body);
      throw this.unavailable(
        req,
        `HTTP ${res.status}${detail ? `: ${detail}` : ''}`,
        retryAfterMs(res.headers),
      );
    }
    if (res.status === 429) {
      const wait = retryAfterMs(res.headers) ?? backoffMs(this.maxAttempts);
      const minutes = Math.max(1, Math.ceil(wait / 60_000));
      throw new SpawnError('ERR_RATE_LIMITED', `${this.label}: rate limited while trying to ${req.what}`, {
        retryAfterMs: wait,
        userMessage: `${this.label} asked us to slow down; please try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      });
    }
    if ((res.status >= 200 && res.status < 300) || req.accept?.includes(res.status)) {
      return { status: res.status, headers: res.headers, body };
    }
    const detail = providerMessage(body);
    if (res.status === 401 || res.status === 403) {
      throw new SpawnError(
        'ERR_CONFIG',
        `${this.label} refused our credentials (HTTP ${res.status}) while trying to ${req.what}; check ${this.options.credentialVar}`,
        { userMessage: `${this.label} refused this server's credentials; the operator needs to fix them.` },
      );
    }
    if (res.status === 404) {
      throw new SpawnError('ERR_NOT_FOUND', `${this.label}: not found while trying to ${req.what}`);
    }
    throw new SpawnError(
      'ERR_DEPLOY_FAILED',
      `${this.label} refused to ${req.what} (HTTP ${res.status}${detail ? `: ${detail}` : ''})`,
    );
  }
}
