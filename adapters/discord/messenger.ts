import { makeURLSearchParams } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { Messenger } from '../../src/core/messenger.js';
import type { ConversationRef, MessageRef } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import type { Logger } from '../../src/log.js';
import { interactionResponseBody, renderMessage, threadName } from './render.js';
import { type DiscordApi, isDiscordRequestError } from './rest.js';
import {
  DISCORD_ACK_TIMEOUT_MS,
  DISCORD_CODES,
  DISCORD_EDIT_INTERVAL_MS,
  DISCORD_TOKEN_EXPIRY_MARGIN_MS,
  type DiscordOutbound,
  EPHEMERAL_FLAG,
  type InitialResponse,
} from './types.js';

/**
 * Keys of `ConversationRef.extra` on Discord:
 * - `startMessageId`: a guild mention; the first post opens a thread from that message.
 * - `threadFromReply`: a slash command in a guild channel; a thread is opened from our first post.
 * - `interactionToken`, `interactionExpiresAt` (epoch ms): answer through the interaction
 *   webhook while the token lives, bot messages after that.
 * - `originalPosted`: the interaction's original response is taken; later posts are follow-ups.
 *
 * Keys of `MessageRef.extra`: `channelId` (where the message lives, which is not the
 * conversation's channel when the thread hangs off it), `via` (`channel`, `original`,
 * `followup`) and the interaction token fields for webhook edits.
 */
type Extra = Readonly<Record<string, string>>;

interface ApiMessage {
  readonly id: string;
  readonly channel_id: string;
}

export interface DiscordMessengerOptions {
  readonly api: DiscordApi;
  readonly logger: Logger;
  readonly now?: () => number;
}

export type DiscordMessenger = Messenger & DiscordOutbound;

/** A conversation that is a thread of its own: follow-ups there match the session. */
function threadConversation(conversation: ConversationRef, threadId: string): ConversationRef {
  return { platform: 'discord', teamId: conversation.teamId, channelId: threadId };
}

/** The conversation without one-off instructions (thread to open, token spent). */
function settled(conversation: ConversationRef, keep: Extra = {}): ConversationRef {
  return {
    platform: 'discord',
    teamId: conversation.teamId,
    channelId: conversation.channelId,
    ...(conversation.threadId ? { threadId: conversation.threadId } : {}),
    ...(Object.keys(keep).length > 0 ? { extra: keep } : {}),
  };
}

/**
 * Posts and edits on Discord over REST only (usable from the worker without a gateway):
 * guild mentions get a thread, slash commands answer through the interaction webhook until
 * its token expires, and every failure is a SpawnError with an `ERR_PLATFORM_*` code.
 */
export function createDiscordMessenger(options: DiscordMessengerOptions): DiscordMessenger {
  const { api, logger } = options;
  const now = options.now ?? Date.now;
  const appId = api.applicationId;

  const tokenUsable = (x: Extra): x is Extra & { interactionToken: string } =>
    typeof x.interactionToken === 'string' &&
    Number(x.interactionExpiresAt ?? 0) - DISCORD_TOKEN_EXPIRY_MARGIN_MS > now();

  function interactionExtra(x: Extra): Extra {
    return {
      interactionToken: x.interactionToken ?? '',
      interactionExpiresAt: x.interactionExpiresAt ?? '0',
    };
  }

  /** Runs a webhook call; undefined when the token is no longer accepted (expired, unknown). */
  async function viaWebhook<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (
        isDiscordRequestError(e) &&
        (e.httpStatus === 401 ||
          e.discordCode === DISCORD_CODES.invalidWebhookToken ||
          e.discordCode === DISCORD_CODES.unknownWebhook ||
          e.discordCode === DISCORD_CODES.unknownInteraction)
      ) {
        logger.info(
          { what, discordCode: e.discordCode },
          'interaction token no longer valid; using bot messages',
        );
        return undefined;
      }
      throw e;
    }
  }

  const editOriginalMessage = (token: string, view: ReplyView) =>
    api.call<ApiMessage>('edit the original interaction response', (rest) =>
      rest.patch(Routes.webhookMessage(appId, token, '@original'), {
        body: renderMessage(view),
        auth: false,
      }),
    );

  const createFollowUp = (token: string, view: ReplyView, ephemeral: boolean) =>
    api.call<ApiMessage>('post an interaction follow-up', (rest) =>
      rest.post(Routes.webhook(appId, token), {
        body: { ...renderMessage(view), ...(ephemeral ? { flags: EPHEMERAL_FLAG } : {}) },
        query: makeURLSearchParams({ wait: true }),
        auth: false,
      }),
    );

  const createMessage = (channelId: string, view: ReplyView, replyTo?: string) =>
    api.call<ApiMessage>('post a message', (rest) =>
      rest.post(Routes.channelMessages(channelId), {
        body: {
          ...renderMessage(view),
          ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}),
        },
      }),
    );

  /**
   * Opens a public thread from a message. A thread created from a message has that message's
   * id, so "already created" (a retried job) returns it; a channel that cannot hold threads,
   * or a bot without the permission, gives undefined: the answer goes in the channel then.
   */
  async function startThread(
    channelId: string,
    messageId: string,
    view: ReplyView,
  ): Promise<string | undefined> {
    try {
      const thread = await api.call<{ id: string }>('start a thread', (rest) =>
        rest.post(Routes.threads(channelId, messageId), {
          body: { name: threadName(view), auto_archive_duration: 1440 },
        }),
      );
      return thread.id;
    } catch (e) {
      if (!isDiscordRequestError(e)) throw e;
      if (e.discordCode === DISCORD_CODES.threadAlreadyCreated) return messageId;
      if (
        e.code === 'ERR_PLATFORM_PERMISSION' ||
        e.discordCode === DISCORD_CODES.cannotExecuteOnChannelType ||
        e.code === 'ERR_PLATFORM_INVALID'
      ) {
        logger.warn(
          { channelId, code: e.code, discordCode: e.discordCode },
          'cannot open a thread; answering in the channel',
        );
        return undefined;
      }
      throw e;
    }
  }

  async function post(conversation: ConversationRef, view: ReplyView): Promise<MessageRef> {
    const x: Extra = conversation.extra ?? {};

    // A slash command's first answer replaces its "thinking…" response.
    if (tokenUsable(x) && !x.originalPosted) {
      const original = await viaWebhook('original response', () =>
        editOriginalMessage(x.interactionToken, view),
      );
      if (original) {
        const extra = { channelId: original.channel_id, via: 'original', ...interactionExtra(x) };
        if (x.threadFromReply) {
          const thread = await startThread(original.channel_id, original.id, view);
          if (thread)
            return { conversation: threadConversation(conversation, thread), messageId: original.id, extra };
        }
        return {
          conversation: settled(conversation, { ...interactionExtra(x), originalPosted: '1' }),
          messageId: original.id,
          extra,
        };
      }
    }
    // Later answers to a slash command outside a thread: follow-ups, so they reach DMs too.
    if (tokenUsable(x) && x.originalPosted) {
      const message = await viaWebhook('follow-up', () => createFollowUp(x.interactionToken, view, false));
      if (message) {
        return {
          conversation,
          messageId: message.id,
          extra: { channelId: message.channel_id, via: 'followup', ...interactionExtra(x) },
        };
      }
    }

    // Bot messages: a guild mention opens a thread from the person's message first.
    if (x.startMessageId) {
      const thread = await startThread(conversation.channelId, x.startMessageId, view);
      const channelId = thread ?? conversation.channelId;
      const message = await createMessage(channelId, view, thread ? undefined : x.startMessageId);
      return {
        conversation: thread ? threadConversation(conversation, thread) : settled(conversation),
        messageId: message.id,
        extra: { channelId, via: 'channel' },
      };
    }
    const message = await createMessage(conversation.channelId, view);
    if (x.threadFromReply) {
      const thread = await startThread(conversation.channelId, message.id, view);
      if (thread) {
        return {
          conversation: threadConversation(conversation, thread),
          messageId: message.id,
          extra: { channelId: conversation.channelId, via: 'channel' },
        };
      }
    }
    return {
      conversation: settled(conversation),
      messageId: message.id,
      extra: { channelId: conversation.channelId, via: 'channel' },
    };
  }

  async function update(ref: MessageRef, view: ReplyView): Promise<void> {
    const x: Extra = ref.extra ?? {};
    if (tokenUsable(x) && (x.via === 'original' || x.via === 'followup')) {
      const token = x.interactionToken;
      const done = await viaWebhook('edit response', () =>
        api.call('edit an interaction message', (rest) =>
          rest.patch(
            Routes.webhookMessage(appId, token, x.via === 'original' ? '@original' : ref.messageId),
            {
              body: renderMessage(view),
              auth: false,
            },
          ),
        ),
      );
      if (done !== undefined) return;
    }
    // Bots may edit their own interaction responses through the channel once the token is gone.
    const channelId = x.channelId ?? ref.conversation.channelId;
    await api.call('edit a message', (rest) =>
      rest.patch(Routes.channelMessage(channelId, ref.messageId), { body: renderMessage(view) }),
    );
  }

  return {
    platform: 'discord',
    editIntervalMs: () => DISCORD_EDIT_INTERVAL_MS,
    post,
    update,

    async acknowledge(interactionId: string, token: string, response: InitialResponse): Promise<void> {
      const body = interactionResponseBody(response);
      await api.call('acknowledge an interaction', (rest) =>
        rest.post(Routes.interactionCallback(interactionId, token), {
          body,
          auth: false,
          signal: AbortSignal.timeout(DISCORD_ACK_TIMEOUT_MS),
        }),
      );
    },
    async editOriginal(token: string, view: ReplyView): Promise<void> {
      await editOriginalMessage(token, view);
    },
    async deleteOriginal(token: string): Promise<void> {
      await api.call('delete the original interaction response', (rest) =>
        rest.delete(Routes.webhookMessage(appId, token, '@original'), { auth: false }),
      );
    },
    async followUp(token: string, view: ReplyView, ephemeral: boolean): Promise<void> {
      await createFollowUp(token, view, ephemeral);
    },
    async reply(channelId: string, view: ReplyView, replyToMessageId: string): Promise<void> {
      await createMessage(channelId, view, replyToMessageId);
    },
  };
}
