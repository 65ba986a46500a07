import type { Chat, Message, MessageEntity, User } from 'grammy/types';
import { isCommandWord } from '../../bots/commands.js';
import type { AttachmentRef } from '../../src/core/attachments.js';
import type { IncomingMessage } from '../../src/core/incoming.js';
import type { ConversationRef, PlatformUser } from '../../src/core/platform.js';

/** Who the bot is, as getMe says: needed to tell which group messages are meant for it. */
export interface BotIdentity {
  readonly id: number;
  readonly username: string;
}

const NAME_MAX = 64;

export function isGroupChat(chat: Pick<Chat, 'type'>): boolean {
  return chat.type === 'group' || chat.type === 'supergroup';
}

export function platformUser(from: User): PlatformUser {
  const name = [from.first_name, from.last_name].filter(Boolean).join(' ').trim();
  return {
    id: String(from.id),
    name: (name || (from.username ? `@${from.username}` : 'Telegram user')).slice(0, NAME_MAX),
  };
}

function entityText(text: string, e: MessageEntity): string {
  // Offsets and lengths are in UTF-16 code units, as JavaScript strings are.
  return text.slice(e.offset, e.offset + e.length);
}

/** Removes the given entities from the text (from the end, so offsets stay valid). */
function without(text: string, entities: readonly MessageEntity[]): string {
  let out = text;
  for (const e of [...entities].sort((a, b) => b.offset - a.offset)) {
    out = out.slice(0, e.offset) + out.slice(e.offset + e.length);
  }
  return out.replace(/[ \t]{2,}/g, ' ').trim();
}

/**
 * Whether a text message is meant for the bot, and its text without the bot's mentions.
 * Private chats: always. Groups: commands (not those addressed `@OtherBot`), mentions of the
 * bot, and replies to the bot's own messages; everything else is people talking to each other.
 */
export function addressedText(
  message: Pick<Message, 'chat' | 'text' | 'entities' | 'reply_to_message'>,
  bot: BotIdentity,
): string | undefined {
  const text = message.text ?? '';
  const entities = message.entities ?? [];
  const me = `@${bot.username}`.toLowerCase();
  const mentions = entities.filter(
    (e) =>
      (e.type === 'mention' && entityText(text, e).toLowerCase() === me) ||
      (e.type === 'text_mention' && e.user.id === bot.id),
  );
  const command = entities.find((e) => e.type === 'bot_command' && e.offset === 0);
  const commandTarget = command ? /@(\w+)$/.exec(entityText(text, command))?.[1] : undefined;
  if (commandTarget && `@${commandTarget}`.toLowerCase() !== me) return undefined; // another bot's command
  const cleaned = without(text, mentions);
  if (!isGroupChat(message.chat)) return cleaned;
  const replyToBot = message.reply_to_message?.from?.id === bot.id;
  return command || mentions.length > 0 || replyToBot ? cleaned : undefined;
}

/** The message id a group message answers, when it answers one of the bot's messages. */
export function repliedBotMessage(
  message: Pick<Message, 'reply_to_message'>,
  bot: BotIdentity,
): number | undefined {
  const replied = message.reply_to_message;
  return replied && replied.from?.id === bot.id ? replied.message_id : undefined;
}

/**
 * The conversation of a message. Private chat: the chat itself (every plain message continues
 * its app). Group: the chat plus, for a reply to the bot, the session thread that message
 * belongs to; a fresh command or mention has no thread yet (its status message will start one).
 */
export function conversationOf(
  chat: Pick<Chat, 'id' | 'type'>,
  options: { threadId?: string | undefined; replyTo?: number | undefined; topic?: number | undefined } = {},
): ConversationRef {
  const group = isGroupChat(chat);
  const extra: Record<string, string> = { chatType: chat.type };
  if (options.topic !== undefined) extra.topic = String(options.topic);
  if (group && options.replyTo !== undefined) extra.replyTo = String(options.replyTo);
  return {
    platform: 'telegram',
    teamId: '',
    channelId: String(chat.id),
    ...(group && options.threadId ? { threadId: options.threadId } : {}),
    extra,
  };
}

/** The forum topic a message was written in, if any. */
export function topicOf(
  message: Pick<Message, 'is_topic_message' | 'message_thread_id'>,
): number | undefined {
  return message.is_topic_message && message.message_thread_id !== undefined
    ? message.message_thread_id
    : undefined;
}

/**
 * A text message as the conversation sees it. The idempotency key is the chat and message id,
 * which stay the same however often Telegram delivers the update.
 */
export function toIncomingMessage(
  updateId: number,
  message: Pick<Message, 'chat' | 'message_id' | 'from' | 'is_topic_message' | 'message_thread_id'> & {
    from: User;
  },
  text: string,
  threadId: string | undefined,
  attachments: readonly AttachmentRef[] = [],
): IncomingMessage {
  return {
    platform: 'telegram',
    teamId: '',
    user: platformUser(message.from),
    conversation: conversationOf(message.chat, {
      threadId,
      replyTo: message.message_id,
      topic: topicOf(message),
    }),
    text,
    idempotencyKey: `${message.chat.id}:${message.message_id}`,
    correlationId: `tg-${updateId}`,
    ...(attachments.length > 0 ? { attachments } : {}),
  };
}

/** `/spawn <prompt>` (not `/spawn status`): always a new app, never a change to a thread's one. */
export function startsNewApp(text: string): boolean {
  const m = /^\/(spawn|new)(?:@\w+)?(?:\s+(\S+))?/i.exec(text.trim());
  return m !== null && !isCommandWord(m[2] ?? '');
}
