import { run } from '@grammyjs/runner';
import type { Api, Bot } from 'grammy';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { Connection } from '../contract.js';
import { callTelegram, grammySignal, toTelegramError } from './api.js';
import { TELEGRAM_ALLOWED_UPDATES, TELEGRAM_POLL_TIMEOUT_S } from './bot.js';

export interface PollingOptions {
  /** How long one getUpdates may wait (TELEGRAM_POLL_TIMEOUT_S). */
  readonly pollTimeoutS?: number;
  /** The supervisor's: the attempt was given up on (timeout, shutdown). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Long polling with @grammyjs/runner, for a bot without a public webhook. The webhook is
 * deleted first: Telegram refuses getUpdates (409) while one is set, and the two modes must
 * never run at once.
 *
 * An aborted attempt never starts its runner: Telegram allows one getUpdates at a time, so a
 * poller started late, beside the next attempt's, would have one of the two refused with 409
 * ("terminated by other getUpdates request"), and a 409 stops a runner.
 */
export async function startPolling(
  bot: Bot,
  api: Api,
  logger: Logger,
  options: PollingOptions = {},
): Promise<Connection> {
  const { pollTimeoutS = TELEGRAM_POLL_TIMEOUT_S, signal } = options;
  await callTelegram('deleteWebhook', () =>
    api.deleteWebhook({ drop_pending_updates: false }, grammySignal(signal)),
  );
  signal?.throwIfAborted();
  // The runner retries failed polls itself (with growing waits); this makes them visible in our
  // logs and in the connection's health, so /ready says Telegram is degraded meanwhile.
  let failing: string | undefined;
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      const result = await prev(method, payload, signal);
      if (method === 'getUpdates') {
        if (!result.ok) {
          failing = `getUpdates failed (${result.error_code})`;
          logger.warn({ code: result.error_code, err: result.description }, 'telegram getUpdates failed');
        } else failing = undefined;
      }
      return result;
    } catch (e) {
      if (method === 'getUpdates' && !signal?.aborted) {
        const err = describeError(toTelegramError(method, e));
        failing = `getUpdates failed: ${err}`;
        logger.warn({ err }, 'telegram getUpdates failed');
      }
      throw e;
    }
  });
  const runner = run(bot, {
    runner: {
      silent: true,
      retryInterval: 'quadratic',
      fetch: { timeout: pollTimeoutS, allowed_updates: [...TELEGRAM_ALLOWED_UPDATES] },
    },
  });
  let stopping = false;
  // 401 (token) and 409 (a webhook is set, or another poller runs) stop the runner; the
  // supervisor then decides (a 401 is for the operator, a 409 may pass).
  const lost = (runner.task() ?? Promise.resolve()).then(
    () => (stopping ? undefined : new Error('telegram long polling stopped')),
    (e: unknown) => {
      const err = toTelegramError('getUpdates', e);
      if (!stopping) logger.error({ err: describeError(err) }, 'telegram long polling stopped');
      return err;
    },
  );
  logger.info('telegram long polling started');
  return {
    lost: lost.then((reason) => (reason ? reason : new Promise<never>(() => {}))),
    health: () => failing ?? 'ok',
    async stop() {
      stopping = true;
      await runner.stop()?.catch(() => {});
    },
  };
}
