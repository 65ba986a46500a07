import type { ReplyView } from '../../src/core/view.js';
import { type RetryPolicy, rateLimitDelay } from '../../src/lib/retry.js';

/**
 * Least time between two edits of one status message. Discord allows about 5 message writes
 * per 5 s per channel (and per interaction webhook); one edit every 1.25 s leaves room in the
 * same bucket for the final post and a reply.
 */
export const DISCORD_EDIT_INTERVAL_MS = 1250;
/** Interaction tokens work for 15 minutes after Discord created the interaction. */
export const DISCORD_INTERACTION_TOKEN_TTL_MS = 15 * 60_000;
/** Stop using an interaction token this long before it expires (clock skew, queued requests). */
export const DISCORD_TOKEN_EXPIRY_MARGIN_MS = 30_000;
/** Timeout of one REST request. */
export const DISCORD_REQUEST_TIMEOUT_MS = 10_000;
/** Retries of one REST request on 5xx and network errors (429s are handled separately). */
export const DISCORD_REQUEST_RETRIES = 2;
/**
 * A rate limit shorter than this is waited out inside the REST client; a longer one surfaces
 * as ERR_PLATFORM_RATE_LIMITED with retryAfterMs, so a queued job waits instead of a worker.
 */
export const DISCORD_INLINE_RATE_LIMIT_WAIT_MS = 2_000;
/**
 * For calls made outside a job (interaction follow-ups, gateway replies), where no queue can
 * delay a retry: a rate limit the platform named is waited out, a few times, then given up.
 */
export const DISCORD_INLINE_RETRY: RetryPolicy = { attempts: 3, maxWaitMs: 15_000, delay: rateLimitDelay };
/** The interaction callback must reach Discord within its 3 s deadline. */
export const DISCORD_ACK_TIMEOUT_MS = 2_000;
/**
 * When the callback endpoint failed and the deferral travels in the HTTP response instead,
 * follow-up work waits this long after the response is sent, so it does not overtake it.
 */
export const DISCORD_BODY_ACK_SETTLE_MS = 250;
/** Interactions signed longer ago than this (or this far in the future) are refused as replays. */
export const DISCORD_SIGNATURE_MAX_AGE_S = 300;
/** Interaction payloads are a few KB; resolved users and channels never come close to this. */
export const DISCORD_INTERACTION_BODY_LIMIT_BYTES = 256 * 1024;
/** How long one connection attempt waits for the gateway to say READY before giving up. */
export const DISCORD_LOGIN_TIMEOUT_MS = 30_000;
/**
 * discord.js reconnects a dropped gateway by itself every half second, forever. After this many
 * attempts in a row without a resume the connection is handed back to the supervisor, which
 * retries with growing waits instead (and shows Discord as degraded meanwhile).
 */
export const DISCORD_RECONNECTS_BEFORE_LOST = 3;
/** How long discord.js waits for guilds listed in READY before it reports ready anyway. */
export const DISCORD_WAIT_GUILD_TIMEOUT_MS = 5_000;

/** Message flag: only the person who used the interaction sees the message. */
export const EPHEMERAL_FLAG = 64;

/**
 * Interaction callback types we send
 * (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type).
 */
export const CALLBACK = {
  pong: 1,
  /** A message now; PATCH .../messages/@original edits it later like a deferred one. */
  channelMessage: 4,
  deferredMessage: 5,
  deferredUpdate: 6,
} as const;

/** Discord JSON error codes the adapter reacts to. */
export const DISCORD_CODES = {
  unknownWebhook: 10015,
  unknownInteraction: 10062,
  invalidWebhookToken: 50027,
  cannotExecuteOnChannelType: 50024,
  threadAlreadyCreated: 160004,
} as const;

/**
 * How the adapter answers an interaction within Discord's 3 s: "thinking…", a silent ack (a
 * button), or, when many requests are waiting, a message that says so. The worker edits the
 * original response the same way in the first and the last case.
 */
export type InitialResponse =
  | { readonly type: typeof CALLBACK.deferredMessage; readonly ephemeral: boolean }
  | { readonly type: typeof CALLBACK.deferredUpdate }
  | { readonly type: typeof CALLBACK.channelMessage; readonly ephemeral: boolean; readonly view: ReplyView };

/** Whether the interaction's original response is seen by the person who acted only. */
export function ephemeralOriginal(response: InitialResponse): boolean {
  return response.type !== CALLBACK.deferredUpdate && response.ephemeral;
}

/**
 * The outbound calls the interaction route and the gateway need. Implemented by the messenger
 * (REST); the webhook path only sees this interface, so it imports no Discord SDK.
 * Every method throws SpawnError (`ERR_PLATFORM_*`).
 */
export interface DiscordOutbound {
  /** POST /interactions/{id}/{token}/callback, with a deadline inside Discord's 3 s. */
  acknowledge(interactionId: string, token: string, response: InitialResponse): Promise<void>;
  /** PATCH the interaction's original response ("thinking…" becomes the view). */
  editOriginal(token: string, view: ReplyView): Promise<void>;
  /** DELETE the original response (a public "thinking…" whose answer is for one person only). */
  deleteOriginal(token: string): Promise<void>;
  /** POST a follow-up message; ephemeral ones are only shown to the person who acted. */
  followUp(token: string, view: ReplyView, ephemeral: boolean): Promise<void>;
  /** A bot message in a channel, replying to one of its messages. */
  reply(channelId: string, view: ReplyView, replyToMessageId: string): Promise<void>;
}

/** The settings that turn Discord on: all three are needed, any one set means it was meant. */
export const DISCORD_VARIABLES = [
  'DISCORD_BOT_TOKEN',
  'DISCORD_APPLICATION_ID',
  'DISCORD_PUBLIC_KEY',
] as const;
