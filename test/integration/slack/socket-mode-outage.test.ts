import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, slashCommand } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { type ReadyLink, readReady } from '../../helpers/ready.js';
import { ACME, ALICE, SIGNING_SECRET } from './harness.js';

const APP_TOKEN = 'xapp-1-A0SPAWNAI-3333-abcdef';
let fake: FakeSlack;
let t: TestApp;
let db: Awaited<ReturnType<typeof createThrowawayPostgres>>;
beforeAll(async () => {
  db = await createThrowawayPostgres({ migrated: true });
  fake = await new FakeSlack({
    signingSecret: SIGNING_SECRET,
    workspaces: [ACME],
    appToken: APP_TOKEN,
  }).start();
  // Slack's socket servers cannot be reached when the service starts.
  fake.socket.unreachable = true;
  t = await startTestApp(
    {
      DATABASE_URL: db.url,
      SLACK_BOT_TOKEN: ACME.botToken,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: fake.apiUrl,
      PLATFORM_RETRY_MIN_MS: '300',
      PLATFORM_RETRY_MAX_MS: '2400',
    },
    { bot: true },
  );
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
  await db?.drop();
});

async function slack(): Promise<{ status: number; state?: ReadyLink; overall: string }> {
  const { status, body } = await readReady(t.url);
  return {
    status,
    overall: body.status,
    ...(body.platforms?.slack ? { state: body.platforms.slack } : {}),
  };
}

async function commandAnswered(channel: string): Promise<void> {
  const ack = await fake.socket.send(
    'slash_commands',
    slashCommand(fake, { ...ALICE, channel, text: 'help' }),
  );
  expect(ack.envelope_id).toBeDefined();
  await until('help answer', async () =>
    fake
      .responsesTo(ALICE.user)
      .find((r) => r.context.channel === channel && /\/spawn/.test(String(r.body.text))),
  );
}

describe('slack: Socket Mode when Slack cannot be reached', () => {
  it('starts anyway, shows slack degraded (200) with growing waits, connects when Slack is back, and reconnects after a cut', async () => {
    const down = await until(
      'slack degraded with three retries',
      async () => {
        const r = await slack();
        expect(r.status).toBe(200);
        return r.state?.state === 'degraded' && r.state.retryDelaysMs.length >= 3 ? r : undefined;
      },
      30_000,
    );
    expect(down.overall).toBe('degraded');
    const waits = down.state!.retryDelaysMs;
    for (let i = 1; i < waits.length; i++) expect(waits[i]!, `${waits}`).toBeGreaterThan(waits[i - 1]!);
    // Seen from Slack: no client was left behind reconnecting on its own.
    const refusedBefore = fake.socket.refused.length;
    expect(refusedBefore).toBeLessThanOrEqual(fake.callsOf('apps.connections.open').length);

    fake.socket.unreachable = false;
    await until('slack connected', async () => (await slack()).state?.state === 'connected', 20_000);
    expect(fake.socket.clients.size).toBe(1);
    await commandAnswered('C0AFTEROUTAGE');

    // The network cuts the socket: the supervisor notices and connects again.
    fake.socket.dropAll();
    await until(
      'slack connected again',
      async () => {
        const r = await slack();
        return r.state?.state === 'connected' && r.state.failures === 0 && fake.socket.clients.size === 1;
      },
      20_000,
    );
    await commandAnswered('C0AFTERCUT');
  }, 90_000);
});
