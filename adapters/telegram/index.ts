import type { Update } from 'grammy/types';
import type { BillingService } from '../../src/billing/service.js';
import type { Config } from '../../src/config/index.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import type { Queues } from '../../src/queue/producer.js';
import type { Redis } from '../../src/redis/connection.js';
import type { PlatformAdapter } from '../contract.js';
import { botIdOf, createApi } from './api.js';
import { BotHost, registerCommands } from './bot.js';
import { startPolling } from './connection.js';
import { createTelegramFileFetcher } from './files.js';
import { createHandlers, createSay } from './handlers.js';
import { createTelegramMessenger, type TelegramMessenger } from './messenger.js';
import { defaultPacing, TelegramBudget, type TelegramPacing } from './pacing.js';
import { InvoicePayloads } from './payload.js';
import type { TelegramRepos } from './payments.js';
import { createStarsPayments } from './payments.js';
import { registerTelegramWebhook } from './routes.js';
import { ThreadMap } from './threads.js';

export {
  TELEGRAM_GROUP_EDIT_INTERVAL_MS,
  TELEGRAM_GROUP_MESSAGES_PER_WINDOW,
  TELEGRAM_GROUP_WINDOW_MS,
  TELEGRAM_PRIVATE_EDIT_INTERVAL_MS,
  type TelegramPacing,
} from './pacing.js';
export { telegramCommand } from './setup.js';

/** The settings Telegram reads (the last two: what a Stars purchase grants). */
export type TelegramConfig = Pick<
  Config,
  | 'TELEGRAM_BOT_TOKEN'
  | 'TELEGRAM_API_ROOT'
  | 'TELEGRAM_WEBHOOK_SECRET'
  | 'TELEGRAM_POLL_TIMEOUT_S'
  | 'QUEUE_PREFIX'
  | 'BODY_LIMIT_BYTES'
  | 'CREDITS_PER_PACK'
  | 'EXTEND_HOURS'
>;

/** What Telegram uses of the rest of the service. */
export interface TelegramServices {
  readonly logger: Logger;
  readonly conversation: ConversationHandler;
  /** Where the webhook and the poller put every update. */
  readonly inbound: InboundQueue;
  /** Pacing budgets and the thread map. */
  readonly redis: Redis;
  /** A message Telegram asked us to hold back is sent later from the queue. */
  readonly queues: Queues;
  /** The owner rule, and the Stars purchases (granted in one transaction). */
  readonly repos: TelegramRepos;
  /** Plans and prices, when Telegram sells them for Stars. */
  readonly billing?: BillingService;
}

/** The Telegram adapter; its pacing can be changed at run time (tests shorten the group window). */
export interface TelegramAdapter extends PlatformAdapter {
  readonly messenger: TelegramMessenger;
  setPacing(pacing: Partial<TelegramPacing>): void;
}

/**
 * Telegram on grammY. Configured by TELEGRAM_BOT_TOKEN. With TELEGRAM_WEBHOOK_SECRET the web
 * process serves `POST /telegram/webhook` (set it with `spawnai telegram set-webhook`);
 * without it the bot process long-polls (after deleting any webhook). Never both.
 */
export function createTelegramAdapter(
  config: TelegramConfig,
  ctx: TelegramServices,
): TelegramAdapter | undefined {
  const { repos } = ctx;
  const token = config.TELEGRAM_BOT_TOKEN;
  if (!token) return undefined;
  const logger = ctx.logger.child({ module: 'telegram' });
  const pacing = defaultPacing();
  const api = createApi(token, config.TELEGRAM_API_ROOT);
  const threads = new ThreadMap(ctx.redis, config.QUEUE_PREFIX);
  const messenger = createTelegramMessenger({
    api,
    budget: new TelegramBudget(ctx.redis, config.QUEUE_PREFIX, botIdOf(token), pacing),
    threads,
    pacing,
    logger,
  });
  const say = createSay({ messenger, queues: ctx.queues, logger });
  const billing = ctx.billing;
  const stars = billing?.methodFor('telegram') === 'stars';
  const payments =
    billing && stars
      ? createStarsPayments({
          billing,
          repos,
          config,
          api,
          messenger,
          payloads: new InvoicePayloads(token),
          say,
          logger,
        })
      : undefined;
  const handlers = createHandlers({
    conversation: ctx.conversation,
    repos,
    api,
    say,
    threads,
    payments,
    logger,
  });
  const secret = config.TELEGRAM_WEBHOOK_SECRET;
  // Runs updates through the handlers: in the worker (from the queue) and for pre-checkout queries.
  const host = new BotHost({ token, apiRoot: config.TELEGRAM_API_ROOT, api, handlers, logger });
  const commands = () =>
    registerCommands(api, stars).catch((e: unknown) =>
      logger.warn({ err: describeError(e) }, 'telegram commands not registered'),
    );

  const adapter: TelegramAdapter = {
    platform: 'telegram',
    messenger,
    inbound: async ({ data }) => (await host.bot()).handleUpdate(data.payload as Update),
    files: createTelegramFileFetcher(api, token, config.TELEGRAM_API_ROOT),
    setPacing(p) {
      Object.assign(pacing, p);
    },
  };
  if (secret) {
    return {
      ...adapter,
      async registerRoutes(app) {
        await registerTelegramWebhook(app, {
          secret,
          bodyLimit: config.BODY_LIMIT_BYTES,
          inbound: ctx.inbound,
          preCheckout: async (update) => (await host.bot()).handleUpdate(update),
          identity: () => host.identity(),
          logger,
        });
        // Warm up (getMe) and show the menu; neither may hold the server's start.
        void host
          .bot()
          .catch((e: unknown) => logger.warn({ err: describeError(e) }, 'telegram getMe failed'));
        void commands();
      },
    };
  }
  return {
    ...adapter,
    async connect(signal) {
      // The poller hands updates to the queue (the update id is the job id); only pre-checkout
      // queries are answered in this process, at once.
      const poller = new BotHost({
        token,
        apiRoot: config.TELEGRAM_API_ROOT,
        api,
        handlers,
        forward: async (update) => {
          await ctx.inbound.enqueue('telegram', String(update.update_id), 'update', update);
        },
        pollTimeoutS: config.TELEGRAM_POLL_TIMEOUT_S,
        ...(signal ? { signal } : {}),
        logger,
      });
      const bot = await poller.bot(); // getMe: a wrong token fails the start with a clear error
      signal?.throwIfAborted();
      await commands();
      return startPolling(bot, api, logger, { pollTimeoutS: config.TELEGRAM_POLL_TIMEOUT_S, signal });
    },
  };
}
