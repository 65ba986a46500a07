import type { Config } from '../../src/config/index.js';
import type { PlatformCommand } from '../../src/core/platform-command.js';
import { isSpawnError, StartupError } from '../../src/errors.js';
import { callTelegram, createApi } from './api.js';
import { registerCommands, TELEGRAM_ALLOWED_UPDATES } from './bot.js';
import { TELEGRAM_WEBHOOK_PATH } from './routes.js';

const USAGE = [
  'telegram set-webhook      point Telegram at PUBLIC_URL/telegram/webhook (https, TELEGRAM_WEBHOOK_SECRET) and register the commands',
  'telegram delete-webhook   remove the webhook (the bot process then uses long polling)',
  'telegram webhook-info     what Telegram knows about the webhook (URL, pending updates, last error)',
];

function api(config: Config) {
  if (!config.TELEGRAM_BOT_TOKEN) throw new StartupError('telegram: set TELEGRAM_BOT_TOKEN first');
  return createApi(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_ROOT);
}

/** A Telegram failure as one line, with a hint for the usual mistakes. */
function failure(e: unknown): never {
  if (isSpawnError(e)) {
    const hint = e.code === 'ERR_PLATFORM_UNAVAILABLE' ? ' (check TELEGRAM_API_ROOT and the network)' : '';
    throw new StartupError(`telegram: ${e.message}${hint}`);
  }
  throw e;
}

async function setWebhook(config: Config, out: (text: string) => void): Promise<void> {
  const client = api(config);
  if (!config.TELEGRAM_WEBHOOK_SECRET) {
    throw new StartupError(
      'telegram: set TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -) for the webhook',
    );
  }
  if (!config.PUBLIC_URL.startsWith('https://')) {
    throw new StartupError(
      'telegram: PUBLIC_URL must be an https:// address Telegram can reach (it refuses http)',
    );
  }
  const url = `${config.PUBLIC_URL}${TELEGRAM_WEBHOOK_PATH}`;
  const billing = Boolean(config.TELEGRAM_STARS_PRO);
  try {
    await callTelegram('setWebhook', () =>
      client.setWebhook(url, {
        secret_token: config.TELEGRAM_WEBHOOK_SECRET,
        allowed_updates: [...TELEGRAM_ALLOWED_UPDATES],
      }),
    );
    await registerCommands(client, billing);
  } catch (e) {
    failure(e);
  }
  out(`Webhook set to ${url} (updates: ${TELEGRAM_ALLOWED_UPDATES.join(', ')}); commands registered.\n`);
}

async function deleteWebhook(config: Config, out: (text: string) => void): Promise<void> {
  const client = api(config);
  try {
    await callTelegram('deleteWebhook', () => client.deleteWebhook({ drop_pending_updates: false }));
  } catch (e) {
    failure(e);
  }
  out('Webhook deleted; run `spawnai bot` (without TELEGRAM_WEBHOOK_SECRET) for long polling.\n');
}

async function webhookInfo(config: Config, out: (text: string) => void): Promise<void> {
  const client = api(config);
  try {
    const info = await callTelegram('getWebhookInfo', () => client.getWebhookInfo());
    const lines = [
      `url: ${info.url || '(none: long polling)'}`,
      `pending updates: ${info.pending_update_count}`,
      ...(info.allowed_updates ? [`updates: ${info.allowed_updates.join(', ')}`] : []),
      ...(info.last_error_message
        ? [
            `last error: ${info.last_error_message}${info.last_error_date ? ` (${new Date(info.last_error_date * 1000).toISOString()})` : ''}`,
          ]
        : []),
    ];
    out(`${lines.join('\n')}\n`);
  } catch (e) {
    failure(e);
  }
}

/** `spawnai telegram set-webhook | delete-webhook | webhook-info`. */
export const telegramCommand: PlatformCommand = {
  name: 'telegram',
  usage: USAGE,
  async run(args: readonly string[], config: Config, out: (text: string) => void): Promise<void> {
    const [sub, ...rest] = args;
    if (rest.length > 0) throw new StartupError(`telegram: ${sub} takes no arguments`);
    if (sub === 'set-webhook') return setWebhook(config, out);
    if (sub === 'delete-webhook') return deleteWebhook(config, out);
    if (sub === 'webhook-info') return webhookInfo(config, out);
    throw new StartupError(
      `telegram: unknown subcommand "${(sub ?? '').slice(0, 40)}"; usage:\n${USAGE.map((u) => `  spawnai ${u}`).join('\n')}`,
    );
  },
};
