/**
 * The small set of failures every adapter, builder and provider maps its raw errors onto.
 * The worker's error boundary decides retry meaning from `kind` alone (STYLE rule 4).
 */
export type ErrorKind =
  | 'rate_limited' // retry after the platform's own delay
  | 'auth' // a credential is wrong or expired: do not retry
  | 'permission' // the credential may not do this: do not retry
  | 'not_found' // the thing is gone: do not retry
  | 'invalid' // the request or input is wrong: do not retry
  | 'unavailable' // could not reach it, 5xx, timeout: retry with backoff (`reached` says which)
  | 'budget'; // a plan or quota limit was reached: do not retry, tell the person

interface ErrorSpec {
  readonly kind: ErrorKind;
  readonly status: number;
  /** Default message, safe to show to a person in the chat. */
  readonly message: string;
}

/** Stable, greppable error codes. Messages never contain secrets, tokens, signed URLs or user content. */
export const ERRORS = {
  ERR_CONFIG: { kind: 'invalid', status: 500, message: 'The service is misconfigured.' },
  ERR_BAD_REQUEST: { kind: 'invalid', status: 400, message: 'The request is malformed.' },
  ERR_BODY_TOO_LARGE: { kind: 'invalid', status: 413, message: 'The request body is too large.' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { kind: 'invalid', status: 415, message: 'Unsupported content type.' },
  ERR_UNAUTHORIZED: { kind: 'auth', status: 401, message: 'Not authorized.' },
  ERR_NOT_FOUND: { kind: 'not_found', status: 404, message: 'Not found.' },
  ERR_RATE_LIMITED: { kind: 'rate_limited', status: 429, message: 'Too many requests; try again shortly.' },

  ERR_SLACK_SIGNATURE: { kind: 'auth', status: 401, message: 'Invalid Slack signature.' },
  ERR_DISCORD_SIGNATURE: { kind: 'auth', status: 401, message: 'Invalid Discord signature.' },
  ERR_TELEGRAM_SECRET: { kind: 'auth', status: 401, message: 'Invalid Telegram secret token.' },
  ERR_STRIPE_SIGNATURE: { kind: 'auth', status: 400, message: 'Invalid Stripe signature.' },
  ERR_STRIPE_EVENT: {
    kind: 'invalid',
    status: 400,
    message: 'The Stripe event is malformed or of an API version this service does not read.',
  },

  ERR_SESSION_TRANSITION: {
    kind: 'invalid',
    status: 409,
    message: 'That change of session state is not allowed.',
  },
  ERR_SESSION_NOT_FOUND: { kind: 'not_found', status: 404, message: 'No such session.' },
  ERR_PROMPT_EMPTY: { kind: 'invalid', status: 400, message: 'Tell me what to build.' },
  ERR_PROMPT_TOO_LONG: { kind: 'invalid', status: 400, message: 'That request is too long.' },
  ERR_TEXT_UNSUPPORTED: {
    kind: 'invalid',
    status: 400,
    message:
      'Your message contains a character I cannot keep (an invisible NUL character or half of an emoji). Remove it and send the message again.',
  },
  ERR_IMAGE_TYPE: {
    kind: 'invalid',
    status: 415,
    message: 'I can only look at JPEG, PNG, GIF or WebP pictures.',
  },
  ERR_IMAGE_TOO_LARGE: { kind: 'invalid', status: 413, message: 'That picture is too large.' },
  ERR_IMAGE_COUNT: { kind: 'invalid', status: 400, message: 'That is more pictures than I can look at.' },
  ERR_IMAGES_OFFLINE: {
    kind: 'invalid',
    status: 400,
    message:
      'Sorry, the offline builder cannot look at pictures. Tell me in words what the app should look like and I will build it from that.',
  },
  /** The platform did not hand over a picture it announced (gone, or our access to it). */
  ERR_IMAGE_UNAVAILABLE: {
    kind: 'invalid',
    status: 502,
    message: 'I could not get the picture from the chat platform. Send it again, please.',
  },
  ERR_IMAGE_FETCH: {
    kind: 'unavailable',
    status: 503,
    message: 'Getting the picture from the chat platform failed for now; trying again.',
  },
  ERR_QUOTA_LIVE: { kind: 'budget', status: 429, message: 'You have reached your limit of live apps.' },
  ERR_QUOTA_BUILDS: { kind: 'budget', status: 429, message: 'You have reached your daily build limit.' },
  ERR_BUSY: { kind: 'invalid', status: 409, message: 'Still working on the previous change.' },
  ERR_SPEND_CAP: { kind: 'budget', status: 402, message: 'That would go over your spending limit.' },
  ERR_PLAN_PROVIDER: { kind: 'budget', status: 402, message: 'Your plan cannot deploy there.' },
  ERR_NOT_OWNER: {
    kind: 'permission',
    status: 403,
    message: 'Only the person who asked for this app can do that.',
  },
  ERR_SESSION_ENDED: { kind: 'invalid', status: 409, message: 'That app has already ended.' },
  ERR_EXTEND_LIMIT: { kind: 'budget', status: 409, message: 'This app cannot be extended any further.' },
  ERR_VERSION_NOT_FOUND: { kind: 'not_found', status: 404, message: 'This app has no such version.' },
  ERR_VERSION_CURRENT: { kind: 'invalid', status: 409, message: 'That version is the one running now.' },
  ERR_NOT_LIVE: { kind: 'invalid', status: 409, message: 'The app is not live yet; try again when it is.' },
  ERR_EXPORT_LINK: { kind: 'auth', status: 403, message: 'This download link is invalid or has expired.' },

  ERR_BUILD_FAILED: { kind: 'invalid', status: 500, message: 'The app could not be built.' },
  ERR_BUILD_TIMEOUT: { kind: 'unavailable', status: 504, message: 'Building the app took too long.' },
  ERR_BUILD_BUDGET: { kind: 'budget', status: 402, message: 'The build reached its budget.' },
  ERR_BUILD_INVALID: { kind: 'invalid', status: 422, message: 'The generated app did not pass validation.' },
  ERR_LLM_AUTH: { kind: 'auth', status: 502, message: 'The AI service rejected our credentials.' },
  ERR_LLM_RATE_LIMITED: {
    kind: 'rate_limited',
    status: 429,
    message: 'The AI service asked us to slow down.',
  },
  ERR_LLM_UNAVAILABLE: {
    kind: 'unavailable',
    status: 503,
    message: 'The AI service is unavailable right now.',
  },
  ERR_STORE_FAILED: { kind: 'unavailable', status: 503, message: 'Storing the app bundle failed.' },
  ERR_STORE_TIMEOUT: { kind: 'unavailable', status: 504, message: 'Storing the app bundle took too long.' },
  ERR_DEPLOY_FAILED: { kind: 'invalid', status: 502, message: 'The app could not be started.' },
  ERR_DEPLOY_TIMEOUT: { kind: 'unavailable', status: 504, message: 'Starting the app took too long.' },
  ERR_PROVIDER_UNAVAILABLE: {
    kind: 'unavailable',
    status: 503,
    message: 'The hosting provider is unavailable.',
  },
  ERR_PROVIDER_NOT_CONFIGURED: {
    kind: 'invalid',
    status: 400,
    message: 'That hosting provider is not configured on this server.',
  },
  ERR_SANDBOX_UNAVAILABLE: {
    kind: 'invalid',
    status: 501,
    message: 'This server has no sandbox to run that app in.',
  },
  ERR_PROVIDER_QUOTA: {
    kind: 'budget',
    status: 429,
    message: 'The hosting provider allows no more new apps right now.',
  },

  ERR_PLATFORM_AUTH: { kind: 'auth', status: 502, message: 'The chat platform rejected our credentials.' },
  ERR_PLATFORM_PERMISSION: { kind: 'permission', status: 502, message: 'The bot may not post there.' },
  ERR_PLATFORM_NOT_FOUND: { kind: 'not_found', status: 502, message: 'The conversation no longer exists.' },
  ERR_PLATFORM_INVALID: { kind: 'invalid', status: 502, message: 'The chat platform refused the message.' },
  ERR_PLATFORM_RATE_LIMITED: {
    kind: 'rate_limited',
    status: 429,
    message: 'The chat platform asked us to slow down.',
  },
  /** Our own pacing of a workspace's edits, not the platform's answer: a final state may go first. */
  ERR_EDIT_BUDGET_SPENT: {
    kind: 'rate_limited',
    status: 429,
    message: 'The edits allowed in this workspace for the moment are used up.',
  },
  ERR_PLATFORM_UNAVAILABLE: {
    kind: 'unavailable',
    status: 503,
    message: 'The chat platform is unavailable.',
  },

  ERR_OVERLOADED: {
    kind: 'unavailable',
    status: 503,
    message: 'Too many requests are being taken in right now; try again shortly.',
  },
  ERR_QUEUE_UNAVAILABLE: {
    kind: 'unavailable',
    status: 503,
    message: 'The request could not be queued right now; try again shortly.',
  },

  ERR_PAYMENT: { kind: 'invalid', status: 402, message: 'The payment could not be processed.' },
  ERR_BILLING_OFF: { kind: 'invalid', status: 404, message: 'Billing is not enabled on this server.' },
  ERR_INTERNAL: { kind: 'unavailable', status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export interface SpawnErrorOptions {
  cause?: unknown;
  /** For `rate_limited`: how long the other side asked us to wait. */
  retryAfterMs?: number;
  /** A more specific message that is still safe to show to a person. */
  userMessage?: string;
  /**
   * For `unavailable`: whether the other side was reached and answered with an error (a 5xx,
   * grammY's GrammyError) or could not be reached at all (network, DNS, timeout; grammY's
   * HttpError). Both are retried alike; logs and `doctor` say which. Unset when not known.
   */
  reached?: boolean;
  /**
   * For a deployed app that did not come up (ERR_DEPLOY_FAILED / ERR_DEPLOY_TIMEOUT): the last
   * lines of its own output and the check that failed, so a builder can be asked to repair it.
   * Written by generated code, so never shown in logs verbatim beyond the app's own card.
   */
  startup?: StartupFailure;
}

/** What is known about an app that did not start: its last log lines and the failed check. */
export interface StartupFailure {
  /** The failed check in a few words: "exited with code 1", "GET / answered 500". */
  readonly check: string;
  /** The last lines the app wrote to stdout and stderr, oldest first. */
  readonly logTail: readonly string[];
}

/** Every error that crosses a module boundary in SpawnAI. */
export class SpawnError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  /** See {@link SpawnErrorOptions.reached}. */
  readonly reached: boolean | undefined;
  /** Safe to show in the chat. */
  readonly userMessage: string;
  readonly startup: StartupFailure | undefined;

  constructor(code: ErrorCode, message?: string, options: SpawnErrorOptions = {}) {
    const spec: ErrorSpec = ERRORS[code];
    super(message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpawnError';
    this.code = code;
    this.kind = spec.kind;
    this.status = spec.status;
    this.retryAfterMs = options.retryAfterMs;
    this.reached = options.reached;
    this.userMessage = options.userMessage ?? message ?? spec.message;
    this.startup = options.startup;
  }

  /** Whether trying the same thing again later can succeed. */
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'rate_limited';
  }
}

export function isSpawnError(e: unknown): e is SpawnError {
  return e instanceof SpawnError;
}

/** Wraps anything thrown into a SpawnError; unknown failures count as `unavailable` (retryable). */
export function toSpawnError(e: unknown, fallback: ErrorCode = 'ERR_INTERNAL'): SpawnError {
  if (e instanceof SpawnError) return e;
  return new SpawnError(fallback, undefined, { cause: e });
}

/** A short, secret-free description of any thrown value, for logs and audit rows. */
export function describeError(e: unknown): string {
  if (e instanceof SpawnError) return `${e.code}${reachedNote(e)}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** ` (answered)` / ` (not reached)` for an `unavailable` error whose side of the failure is known. */
export function reachedNote(e: SpawnError): string {
  if (e.kind !== 'unavailable' || e.reached === undefined) return '';
  return e.reached ? ' (answered with an error)' : ' (not reached)';
}

/**
 * A problem that stops start-up: printed as one line naming what to fix (a variable and the
 * problem), exit code 1, no stack trace.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
