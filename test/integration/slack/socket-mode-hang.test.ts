import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, slashCommand } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type ReadyLink, readReady } from '../../helpers/ready.js';
import { ACME, ALICE, GENERAL, SIGNING_SECRET } from './harness.js';

const APP_TOKEN = 'xapp-1-A0SPAWNAI-3333-abcdef';
const CONNECT_TIMEOUT_MS = 1_000;

let fake: FakeSlack;
let t: TestApp;
beforeAll(async () => {
  fake = await new FakeSlack({
    signingSecret: SIGNING_SECRET,
    workspaces: [ACME],
    appToken: APP_TOKEN,
  }).start();
  // Slack's socket server takes the connection and never says `hello`, from the first attempt on.
  fake.socket.silent = true;
  t = await startTestApp(
    {
      SLACK_BOT_TOKEN: ACME.botToken,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: fake.apiUrl,
      PLATFORM_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      PLATFORM_RETRY_MIN_MS: '200',
      PLATFORM_RETRY_MAX_MS: '400',
    },
    { bot: true },
  );
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

async function slack(): Promise<ReadyLink | undefined> {
  return (await readReady(t.url)).body.platforms?.slack;
}

describe('slack: a Socket Mode server that never says hello', () => {
  it('closes each attempt it gives up on before the next, then connects once the server answers', async () => {
    const { socket } = fake;
    await until('six attempts that hung', async () => socket.hung.accepted >= 6, 60_000);
    const status = await slack();
    expect(status?.state).toBe('degraded');
    expect(status?.error).toMatch(/not connected after 1000 ms/);
    // Without the abort each socket stayed open, waiting for `hello`, for the SDK's own 20 s.
    expect(socket.hung.accepted).toBeLessThanOrEqual(status!.failures + 1);
    expect(socket.hung.mostOpen).toBeLessThanOrEqual(2);
    await until('the hung attempts closed', async () => socket.hung.open.size <= 1, 10_000);

    socket.silent = false;
    await until('connected', async () => (await slack())?.state === 'connected', 30_000);
    expect(socket.clients.size).toBe(1);
    const ack = await socket.send(
      'slash_commands',
      slashCommand(fake, { ...ALICE, channel: GENERAL, text: 'help' }),
    );
    expect(ack.envelope_id).toBeDefined();
    await until(
      'help answer',
      async () => fake.responsesTo(ALICE.user).some((r) => /\/spawn/.test(String(r.body.text))),
      30_000,
    );
  }, 120_000);
});
