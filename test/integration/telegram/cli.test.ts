import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telegramCommand } from '../../../adapters/telegram/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { StartupError } from '../../../src/errors.js';
import { FakeTelegram } from '../../fakes/telegram/server.js';
import { runCli } from '../../helpers/cli.js';

const TOKEN = '4242:cli-test';
const SECRET = 'cli_secret';
let fake: FakeTelegram;

beforeAll(async () => {
  fake = await new FakeTelegram({ token: TOKEN }).start();
});
afterAll(async () => {
  await fake?.stop();
});

const config = (env: Record<string, string> = {}) =>
  loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: fake.url,
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    PUBLIC_URL: 'https://spawn.example.com/',
    ...env,
  });

async function run(args: string[], env: Record<string, string> = {}): Promise<string> {
  let out = '';
  await telegramCommand.run(args, config(env), (text) => {
    out += text;
  });
  return out;
}

describe('spawnai telegram', () => {
  it('set-webhook points Telegram at PUBLIC_URL with the secret, the updates we need, and the commands', async () => {
    const out = await run(['set-webhook'], { TELEGRAM_STARS_PRO: '250' });
    expect(out).toContain('https://spawn.example.com/telegram/webhook');
    expect(fake.state.webhook).toEqual({
      url: 'https://spawn.example.com/telegram/webhook',
      secret_token: SECRET,
      allowed_updates: ['message', 'callback_query', 'pre_checkout_query'],
    });
    expect(fake.state.commands?.map((c) => c.command)).toEqual([
      'spawn',
      'status',
      'list',
      'stop',
      'extend',
      'link',
      'help',
      'start',
      'upgrade',
      'buy',
      'billing',
    ]);
    // While the webhook is set Telegram refuses getUpdates: the two modes never run at once.
    const poll = await fetch(`${fake.url}/bot${TOKEN}/getUpdates`, { method: 'POST' });
    expect(poll.status).toBe(409);
    expect(await run(['webhook-info'])).toContain('url: https://spawn.example.com/telegram/webhook');
  });

  it('delete-webhook removes it', async () => {
    await run(['set-webhook']);
    expect(await run(['delete-webhook'])).toContain('Webhook deleted');
    expect(fake.state.webhook).toBeUndefined();
    expect(await run(['webhook-info'])).toContain('url: (none: long polling)');
  });

  it('refuses to set a webhook without https, without a secret, or with a wrong token, in one line', async () => {
    await expect(run(['set-webhook'], { PUBLIC_URL: 'http://spawn.example.com' })).rejects.toThrow(
      /PUBLIC_URL must be an https:\/\/ address/,
    );
    await expect(
      telegramCommand.run(
        ['set-webhook'],
        loadConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.url }),
        () => {},
      ),
    ).rejects.toThrow(/set TELEGRAM_WEBHOOK_SECRET/);
    const wrong = run(['set-webhook'], { TELEGRAM_BOT_TOKEN: '4242:wrong' });
    await expect(wrong).rejects.toBeInstanceOf(StartupError);
    await expect(wrong).rejects.toThrow(/401 Unauthorized \(check TELEGRAM_BOT_TOKEN\)/);
    await expect(wrong).rejects.not.toThrow(/4242:wrong/);
    await expect(run(['reset'])).rejects.toThrow(/unknown subcommand "reset"/);
    await expect(telegramCommand.run(['set-webhook'], loadConfig({}), () => {})).rejects.toThrow(
      /set TELEGRAM_BOT_TOKEN/,
    );
  });

  it('runs from the real CLI', async () => {
    const { code, output } = await runCli(['telegram', 'set-webhook'], {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.url,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      PUBLIC_URL: 'https://bot.example.org',
    });
    expect(output).toContain('Webhook set to https://bot.example.org/telegram/webhook');
    expect(code).toBe(0);
    const help = await runCli(['help'], {});
    expect(help.output).toContain('telegram set-webhook');
  }, 90_000); // CLI processes: slow on a loaded machine, not wrong
});
