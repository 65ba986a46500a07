import { type Api, Bot, type Composer, type Context } from 'grammy';
import type { BotCommand, Update, UserFromGetMe } from 'grammy/types';
import { describeError, isSpawnError } from '../../src/errors.js';
import { retry } from '../../src/lib/retry.js';
import type { Logger } from '../../src/log.js';
import { callTelegram, grammySignal } from './api.js';

/** The long-poll timeout of getUpdates (grammY's runner default). */
export const TELEGRAM_POLL_TIMEOUT_S = 30;
/** The updates SpawnAI asks for: messages (and payments), button presses, pre-checkout queries. */
export const TELEGRAM_ALLOWED_UPDATES = ['message', 'callback_query', 'pre_checkout_query'] as const;
const GET_ME_ATTEMPTS = 3;
const GET_ME_RETRY_MS = 300;

/** The commands Telegram shows in its menu. */
export function telegramCommands(billing: boolean): BotCommand[] {
  return [
    { command: 'spawn', description: 'Build a new app: /spawn <what to build>' },
    { command: 'status', description: 'Where your app is' },
    { command: 'list', description: 'Your apps' },
    { command: 'stop', description: 'Stop an app' },
    { command: 'extend', description: 'Give an app more time' },
    { command: 'link', description: 'One account on several platforms' },
    { command: 'help', description: 'What I can do' },
    { command: 'start', description: 'Start here' },
    ...(billing
      ? [
          { command: 'upgrade', description: 'More apps, builds and time (Stars)' },
          { command: 'buy', description: 'Build credits (Stars)' },
          { command: 'billing', description: 'Your plan' },
        ]
      : []),
  ];
}

/** Registers the command menu (idempotent; every start may do it). */
export async function registerCommands(api: Api, billing: boolean): Promise<void> {
  await callTelegram('setMyCommands', () => api.setMyCommands(telegramCommands(billing)));
}

/** getMe with a few quick retries for network trouble; a wrong token fails at once. */
export async function getMe(api: Api, signal?: AbortSignal): Promise<UserFromGetMe> {
  return retry(() => callTelegram('getMe', () => api.getMe(grammySignal(signal))), {
    attempts: GET_ME_ATTEMPTS,
    delay: (e, attempt) => (isSpawnError(e) && e.retryable ? GET_ME_RETRY_MS * attempt : undefined),
    ...(signal ? { signal } : {}),
  });
}

export interface BotHostOptions {
  readonly token: string;
  readonly apiRoot: string;
  /** Calls getMe (the bot's id and name are needed to tell which group messages are for it). */
  readonly api: Api;
  readonly handlers: Composer<Context>;
  /**
   * Long polling: every update but a pre-checkout query (answered at once, see routes.ts) is
   * handed here (to the `inbound` queue) instead of to the handlers.
   */
  readonly forward?: (update: Update) => Promise<void>;
  /** Long polling: how long one getUpdates may wait (TELEGRAM_POLL_TIMEOUT_S). */
  readonly pollTimeoutS?: number;
  /** Ends getMe when the caller gives up (a connection attempt the supervisor aborted). */
  readonly signal?: AbortSignal;
  readonly logger: Logger;
}

/**
 * The grammY bot, built once its identity is known (getMe, on first use, retried on the next
 * use when it failed). Webhook mode hands it single updates; polling runs it with the runner.
 */
export class BotHost {
  private ready: Promise<Bot> | undefined;
  private me: UserFromGetMe | undefined;

  constructor(private readonly options: BotHostOptions) {}

  bot(): Promise<Bot> {
    this.ready ??= this.create().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  /** Who the bot is, once getMe has answered; undefined before (nothing is called for it). */
  identity(): { readonly id: number; readonly username: string } | undefined {
    return this.me ? { id: this.me.id, username: this.me.username } : undefined;
  }

  private async create(): Promise<Bot> {
    const { token, apiRoot, handlers, forward, logger } = this.options;
    const botInfo = await getMe(this.options.api, this.options.signal);
    this.me = botInfo;
    const bot = new Bot(token, {
      botInfo,
      // Only getUpdates uses this client's timeout for long; every answer goes through `api`.
      client: { apiRoot, timeoutSeconds: (this.options.pollTimeoutS ?? TELEGRAM_POLL_TIMEOUT_S) + 10 },
    });
    if (forward) {
      bot.use(async (ctx, next) => {
        if (ctx.update.pre_checkout_query) await next();
        else await forward(ctx.update);
      });
    }
    bot.use(handlers);
    bot.catch((err) => {
      logger.error(
        { err: describeError(err.error), updateId: err.ctx.update.update_id },
        'telegram update failed',
      );
    });
    logger.info({ bot: botInfo.username }, 'telegram bot ready');
    return bot;
  }
}
