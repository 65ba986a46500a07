import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import {
  ErrorCode,
  type WebAPIHTTPError,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
  WebClient,
  type WebClientOptions,
} from '@slack/web-api';
import { SpawnError, type ErrorCode as SpawnErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';

/** Longest one Web API request may take. */
export const SLACK_API_TIMEOUT_MS = 10_000;
/** Retries of one Web API call on network errors and 5xx; 429s come back to the caller at once. */
export const SLACK_API_RETRIES = 2;
/** First retry delay, doubled for the next one. */
export const SLACK_API_RETRY_MIN_MS = 250;

/** pino behind the logger interface the Slack SDKs expect; the SDK never changes our level. */
export function slackLogger(logger: Logger): SlackLogger {
  const text = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ');
  const level = (): LogLevel => {
    switch (logger.level) {
      case 'trace':
      case 'debug':
        return LogLevel.DEBUG;
      case 'info':
        return LogLevel.INFO;
      case 'warn':
        return LogLevel.WARN;
      default:
        return LogLevel.ERROR;
    }
  };
  return {
    debug: (...msg: unknown[]) => logger.debug(text(msg)),
    info: (...msg: unknown[]) => logger.info(text(msg)),
    warn: (...msg: unknown[]) => logger.warn(text(msg)),
    error: (...msg: unknown[]) => logger.error(text(msg)),
    setLevel: () => {},
    getLevel: level,
    setName: () => {},
  };
}

/**
 * WebClient options: our base URL (tests point it at a fake), a timeout, few retries, and
 * 429s rejected at once so the notify worker can wait out `Retry-After` on the queue.
 */
export function webClientOptions(apiUrl: string, logger: Logger): WebClientOptions {
  return {
    slackApiUrl: `${apiUrl.replace(/\/+$/, '')}/`,
    timeout: SLACK_API_TIMEOUT_MS,
    retryConfig: {
      retries: SLACK_API_RETRIES,
      factor: 2,
      minTimeout: SLACK_API_RETRY_MIN_MS,
      maxTimeout: 4 * SLACK_API_RETRY_MIN_MS,
      randomize: true,
    },
    rejectRateLimitedCalls: true,
    logger: slackLogger(logger),
  };
}

const AUTH = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'invalid_token',
  'org_login_required',
  'two_factor_setup_required',
]);
const PERMISSION = new Set([
  'missing_scope',
  'not_in_channel',
  'not_allowed_token_type',
  'no_permission',
  'access_denied',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'is_archived',
  'cant_update_message',
  'ekm_access_denied',
  'team_access_not_granted',
  'user_not_in_channel',
]);
const NOT_FOUND = new Set([
  'channel_not_found',
  'message_not_found',
  'thread_not_found',
  'user_not_found',
  'team_not_found',
  'invalid_code',
]);
const UNAVAILABLE = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** What Slack's `{ok: false, error}` means for us. */
export function platformErrorCode(error: string): SpawnErrorCode {
  if (AUTH.has(error)) return 'ERR_PLATFORM_AUTH';
  if (PERMISSION.has(error)) return 'ERR_PLATFORM_PERMISSION';
  if (NOT_FOUND.has(error)) return 'ERR_PLATFORM_NOT_FOUND';
  if (error === 'ratelimited' || error === 'rate_limited') return 'ERR_PLATFORM_RATE_LIMITED';
  if (UNAVAILABLE.has(error)) return 'ERR_PLATFORM_UNAVAILABLE';
  return 'ERR_PLATFORM_INVALID';
}

function slackCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string'
    ? e.code
    : undefined;
}

/**
 * Any WebClient failure as a SpawnError: rate limits carry `retryAfterMs`, `{ok: false}`
 * errors keep Slack's error name (never a token), network trouble is `unavailable`.
 */
export function mapSlackError(e: unknown, method: string): SpawnError {
  if (e instanceof SpawnError) return e;
  switch (slackCode(e)) {
    case ErrorCode.RateLimitedError: {
      const retryAfterS = (e as WebAPIRateLimitedError).retryAfter;
      return new SpawnError('ERR_PLATFORM_RATE_LIMITED', `Slack rate-limited ${method}.`, {
        cause: e,
        retryAfterMs: Math.max(0, retryAfterS) * 1000,
      });
    }
    case ErrorCode.PlatformError: {
      const error = String((e as WebAPIPlatformError).data?.error ?? 'unknown_error');
      const code = platformErrorCode(error);
      return new SpawnError(code, `Slack refused ${method}: ${error}.`, {
        cause: e,
        ...(code === 'ERR_PLATFORM_RATE_LIMITED' ? { retryAfterMs: 1000 } : {}),
      });
    }
    case ErrorCode.HTTPError: {
      const status = (e as WebAPIHTTPError).statusCode;
      const code: SpawnErrorCode =
        status >= 500
          ? 'ERR_PLATFORM_UNAVAILABLE'
          : status === 401
            ? 'ERR_PLATFORM_AUTH'
            : 'ERR_PLATFORM_INVALID';
      return new SpawnError(code, `Slack answered ${method} with HTTP ${status}.`, {
        cause: e,
        reached: true,
      });
    }
    default:
      return new SpawnError('ERR_PLATFORM_UNAVAILABLE', `Slack could not be reached for ${method}.`, {
        cause: e,
        reached: false,
      });
  }
}

/** One WebClient per token, all with the same options. */
export class WebClients {
  private readonly clients = new Map<string, WebClient>();

  constructor(private readonly options: WebClientOptions) {}

  get(token: string): WebClient {
    let client = this.clients.get(token);
    if (!client) {
      client = new WebClient(token, this.options);
      this.clients.set(token, client);
    }
    return client;
  }

  /** Forgets a token's client (the workspace uninstalled the app or the token was revoked). */
  forget(token: string): void {
    this.clients.delete(token);
  }
}

/** Calls the Web API and maps every failure (see {@link mapSlackError}). */
export async function callSlack<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapSlackError(e, method);
  }
}
