import type { FastifyInstance } from 'fastify';
import type { Update } from 'grammy/types';
import { describeError, SpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import { inboundGate } from '../../src/server/inbound-gate.js';
import { withCorrelation } from '../../src/util/correlation.js';
import { busyWebhookAnswer } from './busy.js';
import type { BotIdentity } from './parse.js';
import { parseUpdate, TELEGRAM_SECRET_HEADER, verifySecret } from './verify.js';

/** Where Telegram delivers updates (fixed route). */
export const TELEGRAM_WEBHOOK_PATH = '/telegram/webhook';
/** Updates are small; a larger body is not one of Telegram's. */
export const TELEGRAM_WEBHOOK_BODY_LIMIT = 256 * 1024;

export interface TelegramWebhookOptions {
  readonly secret: string;
  readonly bodyLimit: number;
  /** Where every update but a pre-checkout query goes; the worker runs the bot on it. */
  readonly inbound: InboundQueue;
  /**
   * Runs a pre-checkout query through the bot in this request. Telegram cancels the purchase
   * when it is not answered within 10 s, so it must not wait behind the queue's backlog.
   * A failure to get the bot ready is a 503, so Telegram delivers it again.
   */
  preCheckout(update: Update): Promise<void>;
  /** Who the bot is, once getMe has answered (no call is made for it here). */
  identity?(): BotIdentity | undefined;
  readonly logger: Logger;
}

/**
 * `POST /telegram/webhook`: the secret token header is checked before the body is even read
 * (401 otherwise), then the update's shape, then it is enqueued as one `inbound` job whose id
 * is its `update_id` (a redelivery is the same job) and answered 200 (with the busy note as a
 * sendMessage when many updates are waiting); the worker runs the bot.
 * Pre-checkout queries are the exception: answered here, on a path no backlog can delay.
 */
export async function registerTelegramWebhook(
  app: FastifyInstance,
  options: TelegramWebhookOptions,
): Promise<void> {
  const { logger } = options;
  app.post(
    TELEGRAM_WEBHOOK_PATH,
    {
      bodyLimit: Math.min(options.bodyLimit, TELEGRAM_WEBHOOK_BODY_LIMIT),
      onRequest: [
        async (request) => {
          if (!verifySecret(request.headers[TELEGRAM_SECRET_HEADER], options.secret)) {
            throw new SpawnError('ERR_TELEGRAM_SECRET');
          }
        },
        inboundGate(options.inbound),
      ],
    },
    async (request, reply) => {
      const update = parseUpdate(request.body);
      if (update.pre_checkout_query) {
        // Direct path, not the queue: an unanswered pre-checkout query cancels the purchase
        // after 10 s, and no backlog of messages may hold it up.
        await withCorrelation(`tg-${update.update_id}`, () => options.preCheckout(update)).catch(
          (e: unknown) => {
            logger.error({ err: describeError(e), updateId: update.update_id }, 'pre-checkout query failed');
            throw new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'The bot is not ready yet.', { cause: e });
          },
        );
        return reply.send({ ok: true });
      }
      const { busy } = await options.inbound.enqueue('telegram', String(update.update_id), 'update', update);
      // Many updates are waiting: the note goes in this answer, which Telegram carries out as a
      // sendMessage of its own (https://core.telegram.org/bots/api#making-requests-when-getting-updates),
      // so an overloaded service makes no extra call for it. Long polling has no answer to carry
      // it: there the person sees the status card when the worker reaches their message.
      const note = busy ? busyWebhookAnswer(update, options.identity?.()) : undefined;
      return reply.send(note ?? { ok: true });
    },
  );
}
