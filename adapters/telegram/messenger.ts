import type { Api } from 'grammy';
import type { LabeledPrice, Message } from 'grammy/types';
import type { Messenger } from '../../src/core/messenger.js';
import type { ConversationRef, MessageRef } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { callTelegram, isNotModified, toTelegramError } from './api.js';
import type { TelegramBudget, TelegramPacing } from './pacing.js';
import { renderView } from './render.js';
import type { ThreadMap } from './threads.js';

/** A Stars invoice as this adapter sends it (currency XTR, one price). */
export interface StarsInvoice {
  readonly title: string;
  readonly description: string;
  /** Our own order token, 1-128 bytes. */
  readonly payload: string;
  readonly label: string;
  readonly stars: number;
}

/** The Telegram messenger, with the one extra kind of message only Telegram has here. */
export interface TelegramMessenger extends Messenger {
  sendInvoice(conversation: ConversationRef, invoice: StarsInvoice): Promise<MessageRef>;
}

/** Groups and supergroups (negative chat ids); private chats have the person's own id. */
export function isGroupConversation(c: ConversationRef): boolean {
  const type = c.extra?.chatType;
  if (type) return type === 'group' || type === 'supergroup';
  return c.channelId.startsWith('-');
}

/** Where a new message goes: the chat, the forum topic, and the message it answers. */
function placement(c: ConversationRef) {
  const group = isGroupConversation(c);
  // In a group every message of a session hangs off its thread; a first answer replies to
  // the person's own message.
  const replyTo = c.extra?.replyTo ?? (group ? c.threadId : undefined);
  const topic = c.extra?.topic;
  return {
    group,
    other: {
      ...(replyTo
        ? { reply_parameters: { message_id: Number(replyTo), allow_sending_without_reply: true } }
        : {}),
      ...(topic ? { message_thread_id: Number(topic) } : {}),
    },
  };
}

/**
 * Posts and edits through the Bot API (REST only, usable from any process), within the
 * bot-wide and per-group budgets. In a group the first status message becomes the session's
 * thread: the returned conversation carries its id, so replies to it iterate on that app and
 * two people's apps in one group never share a conversation.
 */
export function createTelegramMessenger(deps: {
  api: Api;
  budget: TelegramBudget;
  threads: ThreadMap;
  pacing: TelegramPacing;
  logger: Logger;
}): TelegramMessenger {
  const { api, budget, threads, pacing, logger } = deps;

  async function posted(c: ConversationRef, group: boolean, sent: Message): Promise<MessageRef> {
    const messageId = String(sent.message_id);
    const threadId = group ? (c.threadId ?? messageId) : undefined;
    if (threadId) {
      // The message is out: losing this note only means a reply to it starts a new thread.
      await threads
        .remember(c.channelId, messageId, threadId)
        .catch((e: unknown) => logger.warn({ err: describeError(e) }, 'telegram thread note not stored'));
    }
    const { replyTo: _answered, ...extra } = c.extra ?? {};
    return {
      conversation: {
        platform: 'telegram',
        teamId: c.teamId,
        channelId: c.channelId,
        ...(threadId ? { threadId } : {}),
        ...(Object.keys(extra).length > 0 ? { extra } : {}),
      },
      messageId,
    };
  }

  return {
    platform: 'telegram',
    editIntervalMs: (c) =>
      isGroupConversation(c) ? pacing.groupEditIntervalMs : pacing.privateEditIntervalMs,

    async post(conversation: ConversationRef, view: ReplyView): Promise<MessageRef> {
      const { group, other } = placement(conversation);
      const { text, replyMarkup } = renderView(view);
      const sent = await budget.spend(conversation.channelId, group, () =>
        callTelegram('sendMessage', () =>
          api.sendMessage(conversation.channelId, text, {
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
            ...(replyMarkup ? { reply_markup: replyMarkup } : {}),
            ...other,
          }),
        ),
      );
      return posted(conversation, group, sent);
    },

    async update(message: MessageRef, view: ReplyView): Promise<void> {
      const c = message.conversation;
      const { text, replyMarkup } = renderView(view);
      await budget.spend(c.channelId, isGroupConversation(c), async () => {
        try {
          // Without reply_markup Telegram removes the keyboard: an ended app's card loses its buttons.
          await api.editMessageText(c.channelId, Number(message.messageId), text, {
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
            ...(replyMarkup ? { reply_markup: replyMarkup } : {}),
          });
        } catch (e) {
          if (isNotModified(e)) return;
          throw toTelegramError('editMessageText', e);
        }
      });
    },

    async sendInvoice(conversation: ConversationRef, invoice: StarsInvoice): Promise<MessageRef> {
      const { group, other } = placement(conversation);
      const prices: LabeledPrice[] = [{ label: invoice.label, amount: invoice.stars }];
      const sent = await budget.spend(conversation.channelId, group, () =>
        callTelegram('sendInvoice', () =>
          api.sendInvoice(
            conversation.channelId,
            invoice.title,
            invoice.description,
            invoice.payload,
            'XTR',
            prices,
            {
              provider_token: '',
              ...other,
            },
          ),
        ),
      );
      return posted(conversation, group, sent);
    },
  };
}
