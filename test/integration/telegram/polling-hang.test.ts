import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../fakes/telegram/server.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type ReadyLink, readReady } from '../../helpers/ready.js';
import { botMessage, TOKEN } from './harness.js';

const CONNECT_TIMEOUT_MS = 1_000;

let fake: FakeTelegram;
let t: TestApp;
beforeAll(async () => {
  fake = await new FakeTelegram({ token: TOKEN }).start();
  // Telegram answers deleteWebhook, the attempt's last step before polling, only after the
  // supervisor has given the attempt up.
  fake.slow.set('deleteWebhook', 2_500);
  t = await startTestApp(
    {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.url,
      PLATFORM_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      PLATFORM_RETRY_MIN_MS: '200',
      PLATFORM_RETRY_MAX_MS: '400',
      TELEGRAM_POLL_TIMEOUT_S: '2',
    },
    { bot: true },
  );
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

async function telegram(): Promise<ReadyLink | undefined> {
  return (await readReady(t.url)).body.platforms?.telegram;
}

describe('telegram: a Bot API too slow for the connect timeout', () => {
  it('ends each attempt it gives up on before it polls, then polls once, alone, when Telegram is quick again', async () => {
    await until('four attempts held up', async () => fake.held.accepted >= 4, 60_000);
    const status = await telegram();
    expect(status?.state).toBe('degraded');
    expect(status?.error).toMatch(/not connected after 1000 ms/);
    // An attempt given up on closes its request and never starts a poller: one started late,
    // beside the next attempt's, is what Telegram answers with 409 Conflict.
    expect(fake.calls('getUpdates')).toHaveLength(0);
    expect(fake.held.mostOpen).toBeLessThanOrEqual(2);
    await until('the given-up requests closed', async () => fake.held.open.size <= 1, 10_000);

    fake.slow.delete('deleteWebhook');
    await until('connected', async () => (await telegram())?.state === 'connected', 30_000);
    const gina = fake.user('Gina');
    const chat = fake.privateChat(gina);
    await fake.sendText(chat, gina, '/help');
    await botMessage(fake, chat, (m) => /\/spawn/.test(m.text ?? ''), 'the help answer', 30_000);
    expect(fake.calls('getUpdates').filter((c) => c.status === 409)).toHaveLength(0);
    expect((await telegram())?.state).toBe('connected');
  }, 120_000);
});
