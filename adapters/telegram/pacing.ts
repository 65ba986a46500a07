import { SpawnError } from '../../src/errors.js';
import { SlidingWindowLimiter } from '../../src/lib/rate-limiter.js';
import { rateLimitDelay, retry } from '../../src/lib/retry.js';
import type { Redis } from '../../src/redis/connection.js';

/** Least time between two edits of one status message in a private chat (Telegram: about 1 a second). */
export const TELEGRAM_PRIVATE_EDIT_INTERVAL_MS = 1_100;
/** Least time between two edits of one status message in a group (20 a minute is one per 3 s). */
export const TELEGRAM_GROUP_EDIT_INTERVAL_MS = 3_100;
/** Messages (sends and edits) the whole bot may send per second, across all chats and processes. */
export const TELEGRAM_GLOBAL_MESSAGES_PER_SECOND = 30;
/** Messages (sends, edits, invoices) one group may receive per `TELEGRAM_GROUP_WINDOW_MS`. */
export const TELEGRAM_GROUP_MESSAGES_PER_WINDOW = 20;
/** The window of the per-group budget: Telegram allows 20 messages a minute in a group. */
export const TELEGRAM_GROUP_WINDOW_MS = 60_000;
/**
 * Our group window is this much longer than Telegram's: a message counted here is sent a few
 * milliseconds later, and must not land inside the next window at Telegram's end.
 */
export const TELEGRAM_GROUP_WINDOW_MARGIN_MS = 500;
/** A spent budget that frees up within this long is waited for in process; longer, the caller is told. */
export const TELEGRAM_MAX_INLINE_WAIT_MS = 1_000;
const GLOBAL_WINDOW_MS = 1_000;
const INLINE_WAIT_ATTEMPTS = 3;

/** Telegram's pacing as this adapter applies it. Tests shorten the group window. */
export interface TelegramPacing {
  privateEditIntervalMs: number;
  groupEditIntervalMs: number;
  globalPerSecond: number;
  groupMessages: number;
  groupWindowMs: number;
}

export function defaultPacing(): TelegramPacing {
  return {
    privateEditIntervalMs: TELEGRAM_PRIVATE_EDIT_INTERVAL_MS,
    groupEditIntervalMs: TELEGRAM_GROUP_EDIT_INTERVAL_MS,
    globalPerSecond: TELEGRAM_GLOBAL_MESSAGES_PER_SECOND,
    groupMessages: TELEGRAM_GROUP_MESSAGES_PER_WINDOW,
    groupWindowMs: TELEGRAM_GROUP_WINDOW_MS,
  };
}

/**
 * The bot-wide budgets, counted in Redis so every web, worker and bot process shares them:
 * about 30 messages a second for the bot, 20 a minute per group. A spent budget is a
 * `ERR_PLATFORM_RATE_LIMITED` with `retryAfterMs`, which the notify worker waits out by
 * delaying the delivery (intermediate states coalesce; the final message is kept).
 */
export class TelegramBudget {
  private readonly limiter: SlidingWindowLimiter;

  constructor(
    redis: Redis,
    prefix: string,
    /** The bot's numeric id (the part of the token before the colon): budgets are per bot. */
    private readonly botId: string,
    private readonly pacing: TelegramPacing,
  ) {
    this.limiter = new SlidingWindowLimiter(redis, prefix);
  }

  /**
   * Sends one message within the budgets of the bot and, for a group, of that group. Telegram
   * counts a message when it arrives, which can be well after we took it from the budget (a
   * busy event loop, a slow network); so once the call is answered the message counts from
   * then. A window at our end then holds every message one at Telegram's end holds.
   */
  async spend<T>(chatId: string, group: boolean, send: () => Promise<T>): Promise<T> {
    const member = await this.acquire(chatId, group);
    try {
      return await send();
    } finally {
      if (member !== undefined) {
        // Best effort: a message counted from its start is at worst a little early.
        await this.limiter.settle(this.groupKey(chatId), member, this.groupWindowMs()).catch(() => undefined);
      }
    }
  }

  /** Takes one message from the budgets; returns the group window's entry for it, if any. */
  private async acquire(chatId: string, group: boolean): Promise<string | undefined> {
    return await retry(
      async () => {
        const { retryAfterMs, member } = await this.take(chatId, group);
        if (retryAfterMs === undefined) return member;
        throw new SpawnError(
          'ERR_PLATFORM_RATE_LIMITED',
          group
            ? 'The Telegram message budget of this group is spent.'
            : 'The bot-wide Telegram budget is spent.',
          { retryAfterMs: Math.max(retryAfterMs, 50) },
        );
      },
      {
        attempts: INLINE_WAIT_ATTEMPTS,
        // A short wait is sat out here; a longer one goes to the notify worker, which delays the job.
        delay: (e) => {
          const ms = rateLimitDelay(e);
          return ms === undefined || ms > TELEGRAM_MAX_INLINE_WAIT_MS ? undefined : ms + 10;
        },
      },
    );
  }

  private groupKey(chatId: string): string {
    return `telegram:${this.botId}:group:${chatId}`;
  }

  private groupWindowMs(): number {
    return this.pacing.groupWindowMs + TELEGRAM_GROUP_WINDOW_MARGIN_MS;
  }

  /** No `retryAfterMs` when a message may go now (with its group window entry); else how long until one may. */
  private async take(chatId: string, group: boolean): Promise<{ retryAfterMs?: number; member?: string }> {
    try {
      let member: string | undefined;
      if (group) {
        const g = await this.limiter.hit(
          this.groupKey(chatId),
          this.pacing.groupMessages,
          this.groupWindowMs(),
        );
        if (!g.allowed) return { retryAfterMs: g.retryAfterMs };
        member = g.member;
      }
      const all = await this.limiter.hit(
        `telegram:${this.botId}:global`,
        this.pacing.globalPerSecond,
        GLOBAL_WINDOW_MS,
      );
      if (!all.allowed) return { retryAfterMs: all.retryAfterMs };
      return member === undefined ? {} : { member };
    } catch (e) {
      throw new SpawnError('ERR_INTERNAL', 'The Telegram rate budget in Redis could not be read.', {
        cause: e,
      });
    }
  }
}
