import type { Update } from 'grammy/types';
import { BUSY_NOTE } from '../../bots/busy.js';
import { addressedText, type BotIdentity, isGroupChat, topicOf } from './parse.js';

/**
 * A Bot API call put in the answer to a webhook delivery: Telegram makes it on the bot's behalf,
 * with no request of ours and no result ("It's not possible to know that such a request was
 * successful or get its result"; https://core.telegram.org/bots/api#making-requests-when-getting-updates).
 */
export interface WebhookMethod {
  readonly method: 'sendMessage';
  readonly chat_id: number;
  readonly text: string;
  readonly message_thread_id?: number;
  readonly reply_parameters?: { readonly message_id: number; readonly allow_sending_without_reply: true };
}

/**
 * The busy note for a text message meant for the bot, as a webhook answer; undefined for
 * anything else (button presses are answered by the worker's answerCallbackQuery, which can be
 * made once only). Which group messages are meant for the bot depends on its name (getMe): until
 * that is known, groups get nothing extra rather than a note on people talking to each other.
 * In a group it replies to the message, so the person it is for can tell.
 */
export function busyWebhookAnswer(update: Update, bot: BotIdentity | undefined): WebhookMethod | undefined {
  const m = update.message;
  if (!m || typeof m.text !== 'string') return undefined;
  const group = isGroupChat(m.chat);
  if (bot ? addressedText(m, bot) === undefined : group) return undefined;
  const topic = topicOf(m);
  return {
    method: 'sendMessage',
    chat_id: m.chat.id,
    text: `⏳ ${BUSY_NOTE}`,
    ...(topic !== undefined ? { message_thread_id: topic } : {}),
    ...(group ? { reply_parameters: { message_id: m.message_id, allow_sending_without_reply: true } } : {}),
  };
}
