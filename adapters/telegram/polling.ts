import { run } from '@grammyjs/runner';
import type { Api, Bot } from 'grammy';
import type { Connection } from '../../src/core/adapter.js';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { callTelegram, toTelegramError } from './api.js';
import { TELEGRAM_ALLOWED_UPDATES, TELEGRAM_POLL_TIMEOUT_S } from './bot.js';

/**
 * Long polling with @grammyjs/runner, for a bot without a public webhook. The webhook is
 * deleted first: Telegram refuses getUpdates (409) while one is set, and the two modes must
 * never run at once.
 */
export async function startPolling(bot: Bot, api: Api, logger: Logger): Promise<Connection> {
  await callTelegram('deleteWebhook', () => api.deleteWebhook({ drop_pending_updates: false }));
  // The runner retries failed polls itself; this makes them visible in our logs.
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      const result = await prev(method, payload, signal);
      if (!result.ok && method === 'getUpdates') {
        logger.warn({ code: result.error_code, err: result.description }, 'telegram getUpdates failed');
      }
      return result;
    } catch (e) {
      if (method === 'getUpdates' && !signal?.aborted) {
        logger.warn({ err: describeError(toTelegramError(method, e)) }, 'telegram getUpdates failed');
      }
      throw e;
    }
  });
  const runner = run(bot, {
    runner: {
      silent: true,
      retryInterval: 'quadratic',
      fetch: { timeout: TELEGRAM_POLL_TIMEOUT_S, allowed_updates: [...TELEGRAM_ALLOWED_UPDATES] },
    },
  });
  runner.task()?.catch((e: unknown) => {
    // 401 (token) and 409 (a webhook is set, or another poller runs) stop the runner.
    logger.error({ err: describeError(toTelegramError('getUpdates', e)) }, 'telegram long polling stopped');
  });
  logger.info('telegram long polling started');
  return {
    async stop() {
      await runner.stop()?.catch(() => {});
    },
  };
}
