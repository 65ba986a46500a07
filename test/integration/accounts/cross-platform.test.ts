import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeResponse, FakeSlack, slashCommand } from '../../fakes/slack/index.js';
import { pushEvent, stripeEvent } from '../../fakes/stripe/events.js';
import { FakeStripe } from '../../fakes/stripe/server.js';
import { type FakeChat, type FakeMessage, FakeTelegram, type FakeUser } from '../../fakes/telegram/server.js';
import { inboundSettled, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { startFakeStripe, stripeEnv, WEBHOOK_SECRET } from '../../helpers/stripe.js';
import { WebChatClient } from '../../helpers/web-client.js';
import { ACME, ALICE, BOB, SIGNING_SECRET } from '../slack/harness.js';
import { SECRET as TELEGRAM_SECRET, TOKEN as TELEGRAM_TOKEN } from '../telegram/harness.js';

/**
 * One person on Telegram, Slack and the web chat of one server: linked with a code, the Pro
 * plan bought on Slack applies on Telegram, and nobody else sees any of it.
 */
let stripe: FakeStripe;
let slack: FakeSlack;
let telegram: FakeTelegram;
let db: { url: string; drop: () => Promise<void> };
let t: TestApp;

beforeAll(async () => {
  stripe = await startFakeStripe();
  slack = await new FakeSlack({
    signingSecret: SIGNING_SECRET,
    workspaces: [ACME],
    clientId: '1111.2222',
    clientSecret: 'client-secret-for-tests',
    appToken: 'xapp-1-A0SPAWNAI-3333-abcdef',
  }).start();
  telegram = await new FakeTelegram({ token: TELEGRAM_TOKEN }).start();
  db = await createThrowawayPostgres({ migrated: true });
  t = await startTestApp({
    ...stripeEnv(stripe),
    DATABASE_URL: db.url,
    FREE_LIVE_SESSIONS: '1',
    FREE_BUILDS_PER_DAY: '50',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: ACME.botToken,
    SLACK_API_URL: slack.apiUrl,
    TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
    TELEGRAM_API_ROOT: telegram.url,
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
  });
  slack.signer.targetUrl = `${t.url}/slack/events`;
  telegram.pushTo(`${t.url}/telegram/webhook`, TELEGRAM_SECRET);
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([stripe?.stop(), slack?.stop(), telegram?.stop()]);
  await db?.drop();
});

const INVALID = 'That code is not valid or has expired.';

/** Sends a Telegram message and waits for the bot's first new message after it that matches. */
async function tg(chat: FakeChat, from: FakeUser, text: string, match: RegExp): Promise<FakeMessage> {
  const before = telegram.botMessages(chat).length;
  await telegram.sendText(chat, from, text);
  // A build's card comes from the worker's queues: on a loaded machine that can take a while,
  // and a wrong answer should say what came instead.
  try {
    return await until(
      `a reply to ${text} matching ${match}`,
      async () =>
        telegram
          .botMessages(chat)
          .slice(before)
          .find((m) => match.test(m.text ?? '')),
      60_000,
    );
  } catch (e) {
    const came = telegram
      .botMessages(chat)
      .slice(before)
      .map((m) => m.text);
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}; the bot said instead: ${JSON.stringify(came)}`,
    );
  }
}

/** Sends `/spawn <text>` on Slack and waits for the reply through its response_url. */
async function sl(who: typeof ALICE, text: string, match: RegExp): Promise<FakeResponse> {
  const before = slack.responsesTo(who.user).length;
  const res = await slack.signer.command(slashCommand(slack, { ...who, channel: 'C0LINK', text }));
  expect(res.status).toBe(200);
  // Never a public "Queued" for an account command: the answer is only for the person.
  expect(res.text).not.toMatch(/Queued|Got it/);
  const reply = await until(`a Slack reply to ${text} matching ${match}`, async () =>
    slack
      .responsesTo(who.user)
      .slice(before)
      .find((r) => match.test(JSON.stringify(r.body))),
  );
  expect(reply.body.response_type).toBe('ephemeral');
  return reply;
}

const codeIn = (text: string) => {
  const code = /Your code: ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(text)?.[1];
  if (!code) throw new Error(`no code in: ${text}`);
  return code;
};

async function accountOf(platform: 'slack' | 'telegram' | 'web', teamId: string, id: string) {
  const identity = await t.app.repos.users.findIdentity(platform, teamId, id);
  return identity?.userId;
}

describe('one account on Telegram, Slack and the web chat', () => {
  it('link from Telegram to Slack; Pro bought on Slack applies on Telegram; wrong, used and expired codes refused; nothing of it visible to others', async () => {
    const tom = telegram.user('Tom');
    const chat = telegram.privateChat(tom);

    // Before: an app on each platform, each on its own free account.
    // Matched by its prompt: a card of another app may arrive in the same chat meanwhile.
    await tg(chat, tom, '/spawn a reading list for the book club', /reading list for the book club/);
    await slack.signer.command(slashCommand(slack, { ...ALICE, channel: 'C0LUNCH', text: 'a lunch poll' }));
    await until(
      'both apps',
      async () =>
        (await t.app.repos.sessions.listByStatus(['queued', 'building', 'deploying', 'live'])).length >= 2,
    );
    const tomAccount = (await accountOf('telegram', '', String(tom.id)))!;
    const aliceBefore = (await accountOf('slack', ACME.teamId, ALICE.user))!;
    expect(aliceBefore).not.toBe(tomAccount);

    // In a Telegram group a code would be seen by everyone: none is given there.
    const club = telegram.group('Book club');
    const notHere = await tg(club, tom, '/link', /private chat/);
    expect(notHere.text).not.toMatch(/Your code|[A-Z2-9]{4}-[A-Z2-9]{4}/);
    expect(await t.app.repos.accounts.codesOf(tomAccount)).toHaveLength(0);

    // Tom asks for a code on Telegram and sends it from Slack, where he is Alice.
    const issued = await tg(chat, tom, '/link', /Your code/);
    const code = codeIn(issued.text ?? '');
    expect(issued.text).toContain(`/spawn link ${code} in Slack`);
    const linked = await sl(ALICE, `link ${code}`, /Accounts linked/);
    expect(JSON.stringify(linked.body)).toMatch(/This Slack account is now linked with Telegram/);
    expect(await accountOf('slack', ACME.teamId, ALICE.user)).toBe(tomAccount);

    // /list on Telegram shows the apps of both platforms.
    const list = await tg(chat, tom, '/list', /Your apps/);
    expect(list.text).toMatch(/reading list[\s\S]*\[telegram\]/i);
    expect(list.text).toMatch(/lunch poll[\s\S]*\[slack\]/i);

    // Free plan: one app at a time, so a third app is refused on Telegram...
    const refused = await tg(chat, tom, '/spawn a habit tracker', /Limit reached/);
    expect(refused.text).toMatch(/You already have 2 apps running; the free plan allows 1/);

    // ...until Pro is bought on Slack (Stripe Checkout, completed through the webhook).
    const offer = await sl(ALICE, 'upgrade', /Get Pro/);
    const checkoutUrl = new RegExp(`${stripe.url}/c/pay/cs_test_\\w+`).exec(JSON.stringify(offer.body))?.[0];
    expect(checkoutUrl).toBeDefined();
    const cs = stripe.complete(FakeStripe.sessionIdOf(checkoutUrl!));
    expect(cs.metadata).toMatchObject({ kind: 'pro', user_id: tomAccount });
    const res = await pushEvent(
      `${t.url}/stripe/webhook`,
      stripeEvent('checkout.session.completed', { ...cs }),
      {
        secret: WEBHOOK_SECRET,
      },
    );
    expect(res.status).toBe(200);
    await inboundSettled(t.app);

    // On Telegram: /billing says Pro, and the Pro limit lets the third app start.
    const billing = await tg(chat, tom, '/billing', /plan/);
    expect(billing.text).toMatch(/You are on the Pro plan/);
    await tg(chat, tom, '/spawn a habit tracker', /habit tracker/);
    expect(await t.app.repos.sessions.listByUser(tomAccount, { activeOnly: true, limit: 10 })).toHaveLength(
      3,
    );

    // The web chat joins the same account with a bare `link <code>`.
    const web = new WebChatClient(t.url);
    const webId = await web.open();
    const fromTelegram = codeIn((await tg(chat, tom, '/link', /Your code/)).text ?? '');
    const webLinked = await web.send(`link ${fromTelegram.toLowerCase()}`);
    expect(webLinked.replies[0]!.view).toMatchObject({ title: 'Accounts linked' });
    expect((await web.send('list')).replies[0]!.view.text).toMatch(/habit tracker/i);
    expect(await accountOf('web', '', webId)).toBe(tomAccount);

    // Bob, in the same Slack workspace: the used code, a wrong one and an expired one all get
    // the same answer, and change nothing.
    const used = await sl(BOB, `link ${code}`, /Cannot link/);
    expect(JSON.stringify(used.body)).toContain(INVALID);
    const wrongCode = code.endsWith('2') ? `${code.slice(0, -1)}3` : `${code.slice(0, -1)}2`;
    const wrong = await sl(BOB, `link ${wrongCode}`, /Cannot link/);
    const expiring = codeIn((await tg(chat, tom, '/link', /Your code/)).text ?? '');
    await tenMinutesPass();
    const expired = await sl(BOB, `link ${expiring}`, /Cannot link/);
    for (const r of [used, wrong, expired]) {
      expect(r.body.text).toBe(used.body.text);
      expect(JSON.stringify(r.body)).not.toMatch(/Tom|Telegram|alice|Pro|reading|lunch|habit/i);
    }
    const bobAccount = (await accountOf('slack', ACME.teamId, BOB.user))!;
    expect(bobAccount).not.toBe(tomAccount);
    // Bob sees none of the account's apps or plan.
    const bobList = await sl(BOB, 'list', /Your apps/);
    expect(JSON.stringify(bobList.body)).toMatch(/no apps yet/);
    const bobBilling = await sl(BOB, 'billing', /Billing/);
    expect(JSON.stringify(bobBilling.body)).toMatch(/Free plan/);

    // Guessing is bounded: five attempts per identity, then even a real code is not looked at.
    const fresh = codeIn((await tg(chat, tom, '/link', /Your code/)).text ?? '');
    await sl(BOB, 'link ZZZZ-ZZZZ', /Cannot link/);
    await sl(BOB, 'link ZZZZ-ZZZ2', /Cannot link/);
    const limited = await sl(BOB, `link ${fresh}`, /Too many link codes tried/);
    expect(JSON.stringify(limited.body)).toMatch(/try again in \d+ minutes?/);
    expect(await accountOf('slack', ACME.teamId, BOB.user)).toBe(bobAccount);

    // Alice unlinks Slack: Slack is on a new free account; the apps and Pro stay with the account.
    await sl(ALICE, 'unlink', /Unlinked/);
    const aliceNow = (await accountOf('slack', ACME.teamId, ALICE.user))!;
    expect(aliceNow).not.toBe(tomAccount);
    expect(JSON.stringify((await sl(ALICE, 'list', /Your apps/)).body)).toMatch(/no apps yet/);
    const after = await tg(chat, tom, '/list', /Your apps/);
    expect(after.text).toMatch(/lunch poll/i);
    expect((await tg(chat, tom, '/billing', /plan/)).text).toMatch(/Pro plan/);
    await tg(chat, tom, '/unlink', /Unlinked/); // Telegram leaves the web chat the account
  });
});

/** The code's ten minutes pass (its expiry moved into the past: the server checks it at use). */
async function tenMinutesPass(): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(
      `update link_codes set expires_at = now() - interval '1 second', created_at = created_at - interval '10 minutes' where used_at is null`,
    );
  } finally {
    await client.end();
  }
}
