import { failureView } from '../../bots/failure.js';
import { type OwnerLookup, ownership } from '../../bots/owner.js';
import type { AttachmentRef } from '../../src/core/attachments.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import type { InboundContext } from '../../src/core/inbound-handler.js';
import type { ConversationRef } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import { isSpawnError } from '../../src/errors.js';
import { retry } from '../../src/lib/retry.js';
import type { Logger } from '../../src/log.js';
import { DISCORD_INLINE_RETRY, type DiscordOutbound } from './types.js';

/** A gateway MESSAGE_CREATE, reduced (in the bot process) to what the conversation needs. */
export interface GatewayMessage {
  readonly id: string;
  readonly channelId: string;
  /** Absent in DMs. */
  readonly guildId?: string;
  readonly inThread: boolean;
  /** The bot was mentioned. */
  readonly mentioned: boolean;
  readonly botId: string;
  readonly authorId: string;
  readonly authorName: string;
  readonly content: string;
  /** Files attached to the message (references; the build fetches them). */
  readonly attachments?: readonly AttachmentRef[];
}

/** In a channel everyone sees the failure, as they saw the request. */
const FAILED = failureView(undefined, { ephemeral: false });

function stripMentions(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), ' ').trim();
}

/**
 * The worker side of gateway messages. A mention in a guild channel or any DM starts (or
 * continues) a conversation; in a session's thread, its owner's messages iterate without a
 * mention. Replies are sent once per message, across attempts.
 */
export function createGatewayMessageHandler(deps: {
  readonly repos: OwnerLookup;
  readonly conversation: ConversationHandler;
  readonly outbound: DiscordOutbound;
  readonly logger: Logger;
}) {
  const { repos, outbound, logger } = deps;

  async function conversationOf(m: GatewayMessage): Promise<ConversationRef | undefined> {
    if (!m.guildId) return { platform: 'discord', teamId: '', channelId: m.channelId };
    if (m.inThread) {
      const thread: ConversationRef = { platform: 'discord', teamId: m.guildId, channelId: m.channelId };
      const owner = await ownership(repos, thread, { teamId: '', userId: m.authorId });
      // In a session's thread its owner iterates without a mention; others are chatting.
      if (owner === 'author') return thread;
      if (!m.mentioned) return undefined;
      // Someone else's request in that thread is their own app, answered in the thread but
      // kept apart (by the message id) so it does not take the thread's session over.
      return owner === 'other' ? { ...thread, threadId: m.id } : thread;
    }
    if (!m.mentioned) return undefined;
    // The message id keeps two mentions in one channel apart; the first post opens a thread from it.
    return {
      platform: 'discord',
      teamId: m.guildId,
      channelId: m.channelId,
      threadId: m.id,
      extra: { startMessageId: m.id },
    };
  }

  return async (ctx: InboundContext): Promise<void> => {
    const m = ctx.data.payload as GatewayMessage;
    const conversation = await conversationOf(m);
    if (!conversation) return;
    let replies: readonly ReplyView[];
    let tag = 'r';
    try {
      const result = await deps.conversation.handleMessage({
        platform: 'discord',
        // Discord accounts are global: one person is one user in every guild and in DMs.
        teamId: '',
        user: { id: m.authorId, name: m.authorName.slice(0, 100) },
        conversation,
        text: stripMentions(m.content, m.botId),
        idempotencyKey: m.id,
        correlationId: `discord-${m.id}`,
        ...(m.attachments?.length ? { attachments: m.attachments } : {}),
      });
      // A build: its status card (posted by the spawn worker) is the answer; the rest is said here.
      replies = result.spawn ? result.replies.filter((r) => !r.ephemeral) : result.replies;
    } catch (e) {
      if (!ctx.finalAttempt && (!isSpawnError(e) || e.retryable)) throw e;
      logger.error({ messageId: m.id, err: e instanceof Error ? e.message : String(e) }, 'message failed');
      replies = [FAILED];
      tag = 'failed';
    }
    // A bot cannot whisper outside interactions: every reply is public, as a reply to the message.
    for (const [i, view] of replies.entries()) {
      await ctx.once(`${tag}${i}`, () =>
        retry(() => outbound.reply(m.channelId, view, m.id), DISCORD_INLINE_RETRY),
      );
    }
  };
}
