import type { FastifyInstance } from 'fastify';
import type { Update } from 'grammy/types';
import { describeError, SpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { withCorrelation } from '../../src/util/correlation.js';
import { parseUpdate, TELEGRAM_SECRET_HEADER, verifySecret } from './verify.js';

/** Where Telegram delivers updates (fixed route). */
export const TELEGRAM_WEBHOOK_PATH = '/telegram/webhook';
/** Updates are small; a larger body is not one of Telegram's. */
export const TELEGRAM_WEBHOOK_BODY_LIMIT = 256 * 1024;

export interface TelegramWebhookOptions {
  readonly secret: string;
  readonly bodyLimit: number;
  /** Makes the bot ready (getMe once); a failure is a 503, so Telegram delivers again. */
  prepare(): Promise<void>;
  /** Records the update id; false when it was seen before. */
  record(updateId: number): Promise<boolean>;
  /** Runs the update through the bot, in this request (pre-checkout queries must be answered now). */
  handle(update: Update): Promise<void>;
  readonly logger: Logger;
}

/**
 * `POST /telegram/webhook`: the secret token header is checked before the body is even read
 * (401 otherwise), then the update's shape, then its `update_id` is recorded so a repeated
 * delivery does nothing, then the bot handles it. Handler failures are logged and answered
 * 200: the update was recorded, a redelivery would be dropped anyway.
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
      onRequest: async (request) => {
        if (!verifySecret(request.headers[TELEGRAM_SECRET_HEADER], options.secret)) {
          throw new SpawnError('ERR_TELEGRAM_SECRET');
        }
      },
    },
    async (request, reply) => {
      const update = parseUpdate(request.body);
      try {
        await options.prepare();
      } catch (e) {
        logger.warn({ err: describeError(e) }, 'telegram bot not ready; delivery refused');
        throw new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'The bot is not ready yet.', { cause: e });
      }
      if (!(await options.record(update.update_id))) {
        logger.info({ updateId: update.update_id }, 'telegram update delivered again; ignored');
        return reply.send({ ok: true, duplicate: true });
      }
      await withCorrelation(`tg-${update.update_id}`, () => options.handle(update)).catch((e: unknown) =>
        logger.error({ err: describeError(e), updateId: update.update_id }, 'telegram update failed'),
      );
      return reply.send({ ok: true });
    },
  );
}
