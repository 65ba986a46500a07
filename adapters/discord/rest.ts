import { DiscordAPIError, HTTPError, RateLimitError, REST } from '@discordjs/rest';
import { ERRORS, type ErrorCode, SpawnError } from '../../src/errors.js';
import { retryAfterFromBody } from '../../src/lib/retry-after.js';
import {
  DISCORD_INLINE_RATE_LIMIT_WAIT_MS,
  DISCORD_REQUEST_RETRIES,
  DISCORD_REQUEST_TIMEOUT_MS,
} from './types.js';

/**
 * A failed Discord call, mapped onto our error set. Carries the HTTP status and Discord's JSON
 * error code (e.g. 50027 Invalid Webhook Token) so callers can fall back; never the URL, which
 * may hold an interaction token.
 */
export class DiscordRequestError extends SpawnError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number | undefined,
    readonly discordCode: number | undefined,
    retryAfterMs?: number,
  ) {
    super(code, message, {
      userMessage: ERRORS[code].message,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      // With an HTTP status Discord answered; without one it was not reached.
      reached: httpStatus !== undefined,
    });
  }
}

export function isDiscordRequestError(e: unknown): e is DiscordRequestError {
  return e instanceof DiscordRequestError;
}

/** Turns whatever @discordjs/rest threw into a DiscordRequestError; the raw error stays here. */
export function mapDiscordError(e: unknown, what: string): DiscordRequestError {
  if (e instanceof DiscordRequestError) return e;
  if (e instanceof RateLimitError) {
    const waitMs = Math.max(Math.ceil(e.retryAfter), 1);
    return new DiscordRequestError(
      'ERR_PLATFORM_RATE_LIMITED',
      `Discord rate limit on ${what} (${e.global ? 'global' : e.route}): retry in ${waitMs} ms`,
      429,
      undefined,
      waitMs,
    );
  }
  if (e instanceof DiscordAPIError) {
    const discordCode = typeof e.code === 'number' ? e.code : undefined;
    const detail = `Discord answered ${e.status}${discordCode ? ` (${discordCode})` : ''} to ${what}: ${e.message.split('\n')[0]}`;
    if (e.status === 401) return new DiscordRequestError('ERR_PLATFORM_AUTH', detail, 401, discordCode);
    if (e.status === 403) return new DiscordRequestError('ERR_PLATFORM_PERMISSION', detail, 403, discordCode);
    if (e.status === 404) return new DiscordRequestError('ERR_PLATFORM_NOT_FOUND', detail, 404, discordCode);
    if (e.status === 429) {
      const retryAfterMs = retryAfterFromBody(e.rawError) ?? 1000;
      return new DiscordRequestError('ERR_PLATFORM_RATE_LIMITED', detail, 429, discordCode, retryAfterMs);
    }
    return new DiscordRequestError('ERR_PLATFORM_INVALID', detail, e.status, discordCode);
  }
  if (e instanceof HTTPError) {
    return new DiscordRequestError(
      'ERR_PLATFORM_UNAVAILABLE',
      `Discord answered ${e.status} to ${what}`,
      e.status,
      undefined,
    );
  }
  // After a 401 the REST client forgets its token and refuses every authenticated request.
  if (e instanceof Error && /Expected token to be set/.test(e.message)) {
    return new DiscordRequestError(
      'ERR_PLATFORM_AUTH',
      `Discord rejected the bot token (${what})`,
      401,
      undefined,
    );
  }
  const reason = e instanceof Error ? (e.name === 'AbortError' ? 'timed out' : e.name) : 'failed';
  return new DiscordRequestError(
    'ERR_PLATFORM_UNAVAILABLE',
    `Could not reach Discord for ${what} (${reason})`,
    undefined,
    undefined,
  );
}

export interface DiscordApiOptions {
  /** DISCORD_API_URL, e.g. `https://discord.com/api` (the client appends `/v10`). */
  readonly apiUrl: string;
  readonly token: string;
  readonly applicationId: string;
  /** Timeout of one request (default DISCORD_REQUEST_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** The REST client and the application it speaks for, with every error mapped. */
export class DiscordApi {
  readonly rest: REST;
  readonly applicationId: string;

  constructor(options: DiscordApiOptions) {
    this.applicationId = options.applicationId;
    this.rest = new REST({
      api: options.apiUrl,
      version: '10',
      timeout: options.timeoutMs ?? DISCORD_REQUEST_TIMEOUT_MS,
      retries: DISCORD_REQUEST_RETRIES,
      // Short waits are absorbed by the client's bucket queue; long ones go back to the caller.
      rejectOnRateLimit: (data) => data.retryAfter > DISCORD_INLINE_RATE_LIMIT_WAIT_MS,
    }).setToken(options.token);
  }

  /** Runs one request; `what` names it in errors and logs (never the URL: it may hold a token). */
  async call<T>(what: string, fn: (rest: REST) => Promise<unknown>): Promise<T> {
    try {
      return (await fn(this.rest)) as T;
    } catch (e) {
      throw mapDiscordError(e, what);
    }
  }

  close(): void {
    this.rest.clearHashSweeper();
    this.rest.clearHandlerSweeper();
  }
}
