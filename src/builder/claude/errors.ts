import {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ContentTooLargeError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { SpawnError } from '../../errors.js';
import { retryAfterMs } from '../../lib/retry-after.js';
import type { TurnUsage } from './usage.js';

/**
 * A streamed answer that broke off after HTTP 200: an `event: error` inside the stream, a
 * cut connection, a stream that ended without `message_stop`, or one that stalled. The SDK
 * does not retry these; the builder restarts the turn a bounded number of times and never
 * keeps what the broken stream carried.
 */
export class StreamBroken extends Error {
  constructor(
    readonly reason: string,
    /** What the broken request had used up; it is billed all the same. */
    readonly usage: TurnUsage,
    options?: { cause?: unknown },
  ) {
    super(`the answer broke off: ${reason}`, options);
    this.name = 'StreamBroken';
  }
}

const UNAVAILABLE_MESSAGE = 'The AI service is unavailable right now; please try again in a few minutes.';

/**
 * Maps an error from a request (after the SDK's own retries) onto SpawnError. Messages name
 * what failed and what to do, never the key; the raw error stays on `cause` only.
 */
export function mapApiError(e: unknown, model: string): SpawnError {
  if (e instanceof SpawnError) return e;
  if (e instanceof AuthenticationError) {
    return new SpawnError('ERR_LLM_AUTH', undefined, {
      cause: e,
      userMessage:
        'The AI service rejected this server’s API key (ANTHROPIC_API_KEY), so nothing was built. The operator needs to set a valid key.',
    });
  }
  if (e instanceof PermissionDeniedError) {
    return new SpawnError('ERR_LLM_AUTH', undefined, {
      cause: e,
      userMessage: `This server’s API key may not use the AI model ${model}, so nothing was built. The operator needs to fix the key or ANTHROPIC_MODEL.`,
    });
  }
  if (e instanceof PaymentRequiredError) {
    return new SpawnError('ERR_LLM_AUTH', undefined, {
      cause: e,
      userMessage: 'The AI service account of this server cannot be billed, so nothing was built.',
    });
  }
  if (e instanceof NotFoundError) {
    return new SpawnError('ERR_BUILD_FAILED', undefined, {
      cause: e,
      userMessage: `The AI model ${model} is not available to this server. The operator needs to set ANTHROPIC_MODEL.`,
    });
  }
  if (e instanceof ContentTooLargeError) {
    return new SpawnError('ERR_BUILD_FAILED', undefined, {
      cause: e,
      userMessage: 'This app has grown too large for the AI to change in one request.',
    });
  }
  if (e instanceof RateLimitError) {
    // An organisation spend limit is not going away in a minute; retrying only repeats it.
    if (e.errorCode === 'enforced_spend_limit_reached') {
      return new SpawnError('ERR_LLM_AUTH', undefined, {
        cause: e,
        userMessage:
          'The AI service account of this server reached its spending limit, so nothing was built.',
      });
    }
    // The SDK already waited and retried; the job now waits out what the API asked for without
    // spending one of its attempts (the worker's error boundary delays it).
    const after = retryAfterMs(e.headers);
    return new SpawnError('ERR_LLM_RATE_LIMITED', undefined, {
      cause: e,
      ...(after ? { retryAfterMs: after } : {}),
      userMessage: 'The AI service is busy (rate limited); please try again in a few minutes.',
    });
  }
  if (e instanceof BadRequestError) {
    const tooLong = /too long|context/i.test(e.apiMessage ?? '');
    return new SpawnError('ERR_BUILD_FAILED', undefined, {
      cause: e,
      userMessage: tooLong
        ? 'This app has grown too large for the AI to change in one request.'
        : 'The AI service refused the request, so nothing was built.',
    });
  }
  if (e instanceof APIConnectionError || (e instanceof APIError && !(e instanceof APIUserAbortError))) {
    return new SpawnError('ERR_LLM_UNAVAILABLE', undefined, {
      cause: e,
      // A connection error (or timeout) never reached the API; any other APIError is its answer (5xx, 529).
      reached: !(e instanceof APIConnectionError) && e.status !== undefined,
      ...(e instanceof APIError && retryAfterMs(e.headers) ? { retryAfterMs: retryAfterMs(e.headers) } : {}),
      userMessage: UNAVAILABLE_MESSAGE,
    });
  }
  return new SpawnError('ERR_LLM_UNAVAILABLE', undefined, { cause: e, userMessage: UNAVAILABLE_MESSAGE });
}

/** After the bounded retries of broken streams ran out. */
export function streamsKeptBreaking(last: StreamBroken): SpawnError {
  return new SpawnError('ERR_LLM_UNAVAILABLE', undefined, {
    cause: last,
    userMessage: 'The AI service kept breaking off its answer; please try again in a few minutes.',
  });
}
