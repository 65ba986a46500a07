import type { Redis } from '../../src/redis/connection.js';

/** How long a bot message keeps pointing at its session's thread (longer than any plan's app lives). */
export const TELEGRAM_THREAD_TTL_S = 31 * 24 * 3600;

/**
 * In a group, a session's conversation is keyed by its first status message (the "thread").
 * Every later message the bot posts for it (status cards of later changes, the result) is
 * remembered here, so a reply to any of them reaches the same session. Shared by all
 * processes through Redis.
 */
export class ThreadMap {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(chatId: string, messageId: string): string {
    return `${this.prefix}:telegram:thread:${chatId}:${messageId}`;
  }

  async remember(chatId: string, messageId: string, threadId: string): Promise<void> {
    await this.redis.set(this.key(chatId, messageId), threadId, 'EX', TELEGRAM_THREAD_TTL_S);
  }

  /** The thread a bot message belongs to; a message we never recorded is its own thread. */
  async threadOf(chatId: string, messageId: string): Promise<string> {
    return (await this.redis.get(this.key(chatId, messageId))) ?? messageId;
  }
}
