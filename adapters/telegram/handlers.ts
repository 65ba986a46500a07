import { type Api, Composer, type Context } from 'grammy';
import type { CallbackQuery, Message } from 'grammy/types';
import { failureView } from '../../bots/failure.js';
import { NOT_YOUR_APP, ownership } from '../../bots/owner.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import { currentInbound } from '../../src/core/inbound-handler.js';
import type { IncomingMessage } from '../../src/core/incoming.js';
import type { ConversationRef } from '../../src/core/platform.js';
import { describeError, isSpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { jobIdFor } from '../../src/queue/jobs.js';
import type { Queues } from '../../src/queue/producer.js';
import { callTelegram } from './api.js';
import { attachmentsOf } from './files.js';
import type { TelegramMessenger } from './messenger.js';
import {
  addressedText,
  type BotIdentity,
  conversationOf,
  isGroupChat,
  platformUser,
  repliedBotMessage,
  startsNewApp,
  toIncomingMessage,
} from './parse.js';
import type { Say, StarsPayments, TelegramRepos } from './payments.js';
import { parseCallbackData, purchaseOf, summaryOf } from './render.js';
import type { ThreadMap } from './threads.js';

export interface HandlerDeps {
  conversation: ConversationHandler;
  repos: TelegramRepos;
  /** Answers to callback and pre-checkout queries (short timeouts). */
  api: Api;
  say: Say;
  threads: ThreadMap;
  /** Absent when Stars are not configured: purchase buttons then go to the conversation. */
  payments?: StarsPayments | undefined;
  logger: Logger;
}

/** Answers now; when Telegram asks us to wait (or is down), the notify worker posts it later. */
export function createSay(deps: { messenger: TelegramMessenger; queues: Queues; logger: Logger }): Say {
  const say: Say = async (conversation, view, key) => {
    try {
      await deps.messenger.post(conversation, view);
    } catch (e) {
      if (isSpawnError(e) && e.retryable) {
        await deps.queues
          .enqueuePost({ kind: 'post', conversation, view }, jobIdFor('telegram-reply', key))
          .catch((q: unknown) => deps.logger.error({ err: describeError(q) }, 'telegram reply lost'));
        return;
      }
      deps.logger.warn({ err: describeError(e) }, 'telegram reply not delivered');
    }
  };
  // In the inbound worker each reply is said once per update, however often the job runs.
  return (conversation, view, key) => {
    const job = currentInbound();
    return job ? job.once(`say-${key}`, () => say(conversation, view, key)) : say(conversation, view, key);
  };
}

/** Whether the update's job should run again rather than tell the person it failed now. */
function retryLater(e: unknown): boolean {
  const job = currentInbound();
  return job !== undefined && !job.finalAttempt && (!isSpawnError(e) || e.retryable);
}

const FAILED = failureView();

/**
 * What the bot does with each update: text messages to the conversation, button presses to
 * the conversation (or to a Stars invoice), pre-checkout queries answered at once, and
 * successful payments granted. Every callback query is answered, whatever happens.
 */
export function createHandlers(deps: HandlerDeps): Composer<Context> {
  const { conversation, repos, api, threads, payments, say, logger } = deps;

  const identity = (ctx: Context): BotIdentity => ({ id: ctx.me.id, username: ctx.me.username });

  /** In a group thread, a plain message from someone other than the app's owner is refused. */
  async function refusedInThread(incoming: IncomingMessage): Promise<boolean> {
    return (
      (await ownership(repos, incoming.conversation, { teamId: '', userId: incoming.user.id })) === 'other'
    );
  }

  /** A text message, or a photo or file with its caption (the caption is the request). */
  async function onText(ctx: Context, message: Message): Promise<void> {
    const from = message.from;
    if (!from || from.is_bot) return;
    const me = identity(ctx);
    const text = addressedText(
      {
        ...message,
        text: message.text ?? message.caption ?? '',
        entities: message.entities ?? message.caption_entities ?? [],
      },
      me,
    );
    if (text === undefined) return;
    const chatId = String(message.chat.id);
    const replied = isGroupChat(message.chat) ? repliedBotMessage(message, me) : undefined;
    let threadId = replied !== undefined ? await threads.threadOf(chatId, String(replied)) : undefined;
    // A new app started inside another app's thread gets a thread of its own.
    if (threadId && startsNewApp(text)) threadId = undefined;
    const incoming = toIncomingMessage(
      ctx.update.update_id,
      { ...message, from },
      text,
      threadId,
      attachmentsOf(message),
    );
    const key = incoming.idempotencyKey;
    try {
      if (threadId && !text.startsWith('/') && (await refusedInThread(incoming))) {
        await say(incoming.conversation, NOT_YOUR_APP, `${key}-owner`);
        return;
      }
      const result = await conversation.handleMessage(incoming);
      // A build's status message follows at once from the notify worker; "queued" would be noise.
      // (A duplicate here is this update's earlier attempt: redeliveries are the same job.)
      if (result.spawn) return;
      for (const [i, view] of result.replies.entries()) await say(incoming.conversation, view, `${key}-${i}`);
    } catch (e) {
      if (retryLater(e)) throw e;
      logger.error({ err: describeError(e) }, 'telegram message failed');
      await say(incoming.conversation, FAILED, `${key}-failed`);
    }
  }

  async function callbackConversation(
    message: NonNullable<CallbackQuery['message']>,
  ): Promise<ConversationRef> {
    const chatId = String(message.chat.id);
    const group = isGroupChat(message.chat);
    const threadId = group ? await threads.threadOf(chatId, String(message.message_id)) : undefined;
    const topic =
      'is_topic_message' in message && message.is_topic_message ? message.message_thread_id : undefined;
    return conversationOf(message.chat, { threadId, topic });
  }

  async function onCallback(query: CallbackQuery): Promise<void> {
    let answered = false;
    const answer = async (text?: string, alert = false): Promise<void> => {
      if (answered) return;
      answered = true;
      await callTelegram('answerCallbackQuery', () =>
        api.answerCallbackQuery(query.id, {
          ...(text ? { text } : {}),
          ...(alert ? { show_alert: true } : {}),
        }),
      ).catch((e: unknown) => logger.warn({ err: describeError(e) }, 'callback query not answered'));
    };
    try {
      const action = parseCallbackData(query.data);
      if (!action || !query.message) {
        await answer('This button no longer works.', true);
        return;
      }
      const conv = await callbackConversation(query.message);
      const user = platformUser(query.from);
      const purchase = purchaseOf(action);
      if (purchase && payments) {
        const outcome = await payments.offer({
          conversation: conv,
          from: user,
          kind: purchase,
          sessionId: action.sessionId || undefined,
        });
        await answer(outcome.message, !outcome.ok);
        return;
      }
      const result = await conversation.handleAction({
        platform: 'telegram',
        teamId: '',
        user,
        conversation: conv,
        action: action.action,
        sessionId: action.sessionId,
        ...(action.version !== undefined ? { version: action.version } : {}),
        idempotencyKey: `cb:${query.id}`,
      });
      const [first] = result.replies;
      await answer(first ? summaryOf(first) : undefined, first?.tone === 'error');
      // Offers (a paid extension, a plan) need their buttons: those become messages too.
      for (const [i, view] of result.replies.entries()) {
        if (view.tone !== 'error' && view.buttons?.length) await say(conv, view, `cb-${query.id}-${i}`);
      }
    } catch (e) {
      logger.error({ err: describeError(e) }, 'telegram button press failed');
      await answer(FAILED.text, true);
    } finally {
      await answer();
    }
  }

  const composer = new Composer<Context>();
  composer.on('pre_checkout_query', async (ctx) => {
    const query = ctx.preCheckoutQuery;
    if (payments) {
      await payments.preCheckout(query);
      return;
    }
    await callTelegram('answerPreCheckoutQuery', () =>
      api.answerPreCheckoutQuery(query.id, false, {
        error_message: 'Payments are not set up on this server.',
      }),
    );
  });
  composer.on('message:successful_payment', async (ctx) => {
    const message = ctx.message;
    const conv = conversationOf(message.chat, { replyTo: message.message_id });
    if (!payments) {
      logger.error(
        { chargeId: message.successful_payment.telegram_payment_charge_id },
        'payment without Stars set up',
      );
      return;
    }
    await payments.successfulPayment(message.successful_payment, message.from, conv);
  });
  composer.on('message:text', (ctx) => onText(ctx, ctx.message));
  // Pictures ("make it look like this"): only their references; the build fetches the bytes.
  composer.on(['message:photo', 'message:document'], (ctx) => onText(ctx, ctx.message));
  composer.on('callback_query', (ctx) => onCallback(ctx.callbackQuery));
  return composer;
}
