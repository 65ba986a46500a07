import { autoRetry } from '@grammyjs/auto-retry';
import { Api, GrammyError, HttpError } from 'grammy';
import { isSpawnError, SpawnError } from '../../src/errors.js';
import { retryAfterFromBody } from '../../src/lib/retry-after.js';

/** Longest one Bot API call (other than a long poll) may take. */
export const TELEGRAM_REQUEST_TIMEOUT_S = 10;
/** A 429 whose `retry_after` is at most this is waited out in process, once; longer ones go to the caller. */
export const TELEGRAM_INLINE_RETRY_MAX_S = 2;
const INLINE_RETRY_ATTEMPTS = 1;
const DESCRIPTION_MAX = 200;

/**
 * A Bot API client for one token. Short 429s are retried once in process (auto-retry, bounded);
 * 5xx and network errors are not retried here but mapped to `ERR_PLATFORM_UNAVAILABLE`, so
 * the caller (the notify worker, a webhook handler) decides: BullMQ backs off, a handler queues.
 */
export function createApi(token: string, apiRoot: string, timeoutSeconds = TELEGRAM_REQUEST_TIMEOUT_S): Api {
  const api = new Api(token, { apiRoot, timeoutSeconds });
  api.config.use(
    autoRetry({
      maxRetryAttempts: INLINE_RETRY_ATTEMPTS,
      maxDelaySeconds: TELEGRAM_INLINE_RETRY_MAX_S,
      rethrowInternalServerErrors: true,
      rethrowHttpErrors: true,
    }),
  );
  return api;
}

/** The numeric id of the bot: the part of its token before the colon (not a secret). */
export function botIdOf(token: string): string {
  return token.split(':')[0] ?? '';
}

function describe(method: string, e: GrammyError): string {
  return `Telegram ${method}: ${e.error_code} ${e.description.slice(0, DESCRIPTION_MAX)}`;
}

/** "message is not modified": an edit to what the message already says, which is success. */
export function isNotModified(e: unknown): boolean {
  return e instanceof GrammyError && e.error_code === 400 && /message is not modified/i.test(e.description);
}

/** Telegram's answer, or the failure to reach it, as one of our error codes. Never contains the token. */
export function toTelegramError(method: string, e: unknown): SpawnError {
  if (isSpawnError(e)) return e;
  if (e instanceof GrammyError) {
    const message = describe(method, e);
    const code = e.error_code;
    if (code === 429) {
      return new SpawnError('ERR_PLATFORM_RATE_LIMITED', message, {
        cause: e,
        retryAfterMs: Math.max(1000, retryAfterFromBody(e.parameters) ?? 1000),
      });
    }
    if (code === 401) {
      return new SpawnError('ERR_PLATFORM_AUTH', `${message} (check TELEGRAM_BOT_TOKEN)`, { cause: e });
    }
    if (code === 403) return new SpawnError('ERR_PLATFORM_PERMISSION', message, { cause: e });
    if (code >= 500) return new SpawnError('ERR_PLATFORM_UNAVAILABLE', message, { cause: e, reached: true });
    if (typeof e.parameters.migrate_to_chat_id === 'number') {
      return new SpawnError('ERR_PLATFORM_NOT_FOUND', `${message} (the group became a supergroup)`, {
        cause: e,
      });
    }
    if (
      code === 400 &&
      /message to edit not found|message to be replied not found|chat not found|MESSAGE_ID_INVALID/i.test(
        e.description,
      )
    ) {
      return new SpawnError('ERR_PLATFORM_NOT_FOUND', message, { cause: e });
    }
    return new SpawnError('ERR_PLATFORM_INVALID', message, { cause: e });
  }
  if (e instanceof HttpError) {
    return new SpawnError('ERR_PLATFORM_UNAVAILABLE', `Telegram ${method}: could not reach the Bot API`, {
      cause: e,
      reached: false,
    });
  }
  return new SpawnError('ERR_PLATFORM_UNAVAILABLE', `Telegram ${method} failed`, { cause: e });
}

/** Runs one Bot API call; whatever it throws leaves as a SpawnError. */
export async function callTelegram<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toTelegramError(method, e);
  }
}

type GrammySignal = Parameters<Api['getMe']>[0];

/**
 * grammY types its request signals with the `abort-controller` package's class (for old Node);
 * at run time it hands them to fetch, which takes Node's own AbortSignal.
 */
export function grammySignal(signal: AbortSignal | undefined): GrammySignal {
  return signal as unknown as GrammySignal;
}
