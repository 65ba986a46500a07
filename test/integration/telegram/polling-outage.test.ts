import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConnections } from '../../../src/doctor/connections.js';
import { FakeTelegram } from '../../fakes/telegram/server.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { readReady } from '../../helpers/ready.js';
import { WebChatClient } from '../../helpers/web-client.js';
import { botMessage, TOKEN } from './harness.js';

let fake: FakeTelegram;
let t: TestApp;
beforeAll(async () => {
  fake = await new FakeTelegram({ token: TOKEN }).start();
  // api.telegram.org cannot be reached when the service starts.
  fake.unreachable = true;
  t = await startTestApp(
    {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.url,
      PLATFORM_RETRY_MIN_MS: '300',
      PLATFORM_RETRY_MAX_MS: '2400',
      // A poll in flight when Telegram goes away ends within this; 30 s would only slow the test.
      TELEGRAM_POLL_TIMEOUT_S: '2',
    },
    { bot: true },
  );
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

async function ready() {
  return readReady(t.url);
}

describe('Telegram long polling when Telegram cannot be reached', () => {
  it('starts anyway, shows telegram degraded in /ready (200) with growing retry waits, serves the web chat, and polls once Telegram is back', async () => {
    const degraded = await until('telegram degraded with four retries', async () => {
      const { status, body } = await ready();
      expect(status).toBe(200);
      const telegram = body.platforms?.telegram;
      return telegram?.state === 'degraded' && telegram.retryDelaysMs.length >= 4 ? body : undefined;
    });
    expect(degraded.status).toBe('degraded');
    const waits = degraded.platforms!.telegram!.retryDelaysMs;
    for (let i = 1; i < Math.min(waits.length, 4); i++)
      expect(waits[i]!, `${waits}`).toBeGreaterThan(waits[i - 1]!);
    expect(Math.max(...waits)).toBeLessThanOrEqual(2400);
    expect(fake.calls('getUpdates')).toHaveLength(0);
    // `spawnai doctor` (a process of its own) says so too, from what the service reports in Redis.
    const doctor = await checkConnections(t.config);
    expect(doctor.state).toBe('degraded');
    expect(doctor.detail).toMatch(
      /^telegram \(.+ pid \d+\): degraded for \d+ s, \d+ failed attempt\(s\), next attempt in \d+ s/,
    );

    // The rest of the process works meanwhile.
    const web = new WebChatClient(t.url);
    await web.open();
    expect((await web.send('help')).status).toBeLessThan(300);

    // Telegram is back: the next attempt connects, polls, and answers.
    fake.unreachable = false;
    await until(
      'telegram connected',
      async () => (await ready()).body.platforms?.telegram?.state === 'connected',
      15_000,
    );
    expect((await ready()).body.status).toBe('ok');
    await until('doctor says connected', async () => (await checkConnections(t.config)).state === 'ok');
    const erin = fake.user('Erin');
    const chat = fake.privateChat(erin);
    await fake.sendText(chat, erin, '/help');
    await botMessage(fake, chat, (m) => /\/spawn/.test(m.text ?? ''), 'the help answer');
  }, 60_000);

  it('a polling connection that loses Telegram later shows degraded until its polls succeed again', async () => {
    fake.unreachable = true;
    await until(
      'telegram degraded while polling fails',
      async () => {
        const telegram = (await ready()).body.platforms?.telegram;
        return telegram?.state === 'degraded' && /getUpdates failed/.test(telegram.error ?? '');
      },
      60_000,
    );
    fake.unreachable = false;
    await until(
      'telegram polling again',
      async () => (await ready()).body.platforms?.telegram?.state === 'connected',
      60_000,
    );
    const finn = fake.user('Finn');
    const chat = fake.privateChat(finn);
    await fake.sendText(chat, finn, '/help');
    await botMessage(fake, chat, (m) => /\/spawn/.test(m.text ?? ''), 'the help answer', 60_000);
  }, 150_000);
});
