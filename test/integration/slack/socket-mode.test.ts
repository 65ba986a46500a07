import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMention, FakeSlack, slashCommand } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { ACME, ALICE, SIGNING_SECRET, shown } from './harness.js';

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
  // No signing secret, no public URL: Socket Mode only, in the bot role.
  t = await startTestApp(
    {
      DATABASE_URL: db.url,
      SLACK_BOT_TOKEN: ACME.botToken,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: fake.apiUrl,
    },
    { bot: true },
  );
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
  await db?.drop();
});

describe('slack: Socket Mode (bot process, no public URL)', () => {
  it('connects with the app token, acks a slash command envelope with a note, and builds', async () => {
    await fake.socket.connected();
    expect(fake.callsOf('apps.connections.open')).toHaveLength(1);
    // The HTTP route is not served without a signing secret.
    expect((await fetch(`${t.url}/slack/events`, { method: 'POST' })).status).toBe(404);

    const ack = await fake.socket.send(
      'slash_commands',
      slashCommand(fake, { ...ALICE, channel: 'C0SOCKET', text: 'a guestbook for the office party' }),
    );
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(String(ack.payload?.text)).toContain('Got it: a guestbook for the office party');
    const card = await until('card', async () => fake.topLevel('C0SOCKET')[0]);
    await until('result', async () =>
      fake.inThread('C0SOCKET', card.ts).find((m) => /is ready/.test(shown(m))),
    );

    const mention = appMention(fake, { ...ALICE, channel: 'C0SOCKET2', text: 'status' });
    const eventAck = await fake.socket.send('events_api', mention.envelope);
    expect(eventAck.envelope_id).toBeDefined();
    // "status" alone is /status: no app in that thread, so the person's newest app is summed up.
    await until('status answer in the thread', async () =>
      fake.inThread('C0SOCKET2', mention.ts).find((m) => /Live at/.test(shown(m))),
    );
  });
});
