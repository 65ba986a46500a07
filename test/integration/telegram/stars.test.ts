import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeChat, FakeUser } from '../../fakes/telegram/server.js';
import { until } from '../../helpers/app.js';
import { appIdOf, botMessage, isResult, sessionsOf, startTelegram, type TelegramHarness } from './harness.js';

const STARS = {
  TELEGRAM_STARS_PRO: '250',
  TELEGRAM_STARS_TEAM: '900',
  TELEGRAM_STARS_EXTEND: '50',
  TELEGRAM_STARS_CREDITS: '100',
};
const DAY_MS = 24 * 3600 * 1000;

async function userOf(h: TelegramHarness, person: FakeUser) {
  const identity = await h.t.app.repos.users.findIdentity('telegram', '', String(person.id));
  return identity ? h.t.app.repos.users.get(identity.userId) : undefined;
}

async function paymentsOf(h: TelegramHarness, person: FakeUser) {
  const user = await userOf(h, person);
  return user ? h.t.app.repos.payments.listByUser(user.id) : [];
}

/** `/upgrade`, then the Pro button: the invoice message. */
async function proInvoice(h: TelegramHarness, chat: FakeChat, person: FakeUser) {
  const { fake } = h;
  const before = fake.botMessages(chat).length;
  await fake.sendText(chat, person, '/upgrade');
  const offer = await botMessage(
    fake,
    chat,
    (m) => m.messageId > (fake.botMessages(chat)[before - 1]?.messageId ?? 0) && /Upgrade/.test(m.text ?? ''),
    'the upgrade offer',
  );
  expect(fake.button(offer, /Get Team \(900 ⭐\)/)).toBe('upgrade::team');
  const press = await fake.press(chat, offer.messageId, person, fake.button(offer, /Get Pro \(250 ⭐\)/));
  expect(await fake.callbackAnswer(press.queryId)).toMatchObject({
    text: 'Invoice sent: 250 ⭐. Pay it below.',
  });
  return botMessage(
    fake,
    chat,
    (m) => m.invoice !== undefined && m.messageId > offer.messageId,
    'the invoice',
  );
}

describe('Telegram Stars through the webhook', () => {
  let h: TelegramHarness;
  beforeAll(async () => {
    h = await startTelegram('webhook', STARS);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('sells Pro: invoice, pre-checkout answered at once, granted once however often the payment is reported', async () => {
    const { fake } = h;
    const alice = fake.user('Alice');
    const chat = fake.privateChat(alice);
    const invoice = await proInvoice(h, chat, alice);
    expect(invoice.invoice).toMatchObject({
      currency: 'XTR',
      total_amount: 250,
      title: 'SpawnAI Pro, 30 days',
    });
    const sent = fake.calls('sendInvoice').at(-1)!.body;
    expect(sent).toMatchObject({ currency: 'XTR', provider_token: '', prices: [{ amount: 250 }] });
    expect(Buffer.byteLength(sent.payload as string)).toBeLessThanOrEqual(128);

    const paid = await fake.pay(chat, invoice.messageId, alice);
    expect(paid.answer).toMatchObject({ ok: true, late: false });
    expect(paid.payment).toBeDefined();
    await botMessage(fake, chat, (m) => /Pro active/.test(m.text ?? ''), 'the confirmation');
    const user = await userOf(h, alice);
    expect(user?.plan).toBe('pro');
    const until30 = user!.planExpiresAt!.getTime();
    expect(Math.abs(until30 - (Date.now() + 30 * DAY_MS))).toBeLessThan(60_000);
    const [payment, ...more] = await paymentsOf(h, alice);
    expect(more).toEqual([]);
    expect(payment).toMatchObject({
      provider: 'telegram',
      kind: 'pro',
      plan: 'pro',
      amount: 250,
      currency: 'XTR',
      status: 'paid',
      telegramChargeId: paid.payment!.chargeId,
    });

    // The same update delivered again, and the same charge reported in a new update: nothing more.
    expect(await fake.push(paid.payment!.update)).toBe(200);
    const again = (
      paid.payment!.update.message as { successful_payment: Parameters<typeof fake.paymentMessage>[2] }
    ).successful_payment;
    expect((await fake.paymentMessage(chat, alice, again)).status).toBe(200);
    await Promise.all([fake.paymentMessage(chat, alice, again), fake.paymentMessage(chat, alice, again)]);
    expect(await paymentsOf(h, alice)).toHaveLength(1);
    expect((await userOf(h, alice))?.planExpiresAt?.getTime()).toBe(until30);
    expect(fake.botMessages(chat).filter((m) => /Pro active/.test(m.text ?? ''))).toHaveLength(1);
  });

  it('refuses invalid orders at pre-checkout with a reason, and grants nothing', async () => {
    const { fake } = h;
    const bob = fake.user('Bob');
    const mallory = fake.user('Mallory');
    const chat = fake.group('Shop talk');
    const invoice = await proInvoice(h, chat, bob);

    const cases: [FakeUser, Parameters<typeof fake.pay>[3], RegExp][] = [
      [mallory, {}, /made for someone else/],
      [bob, { totalAmount: 1 }, /price is now 250 Stars/],
      [bob, { currency: 'USD' }, /Only Telegram Stars/],
      [bob, { payload: `${fake.calls('sendInvoice').at(-1)!.body.payload as string}x` }, /not valid/],
      [bob, { payload: 'v1.p.00000000000000000000000000000000..zz.AAAAAAAAAAAAAAAAAAAAAA' }, /not valid/],
    ];
    for (const [payer, overrides, reason] of cases) {
      const paid = await fake.pay(chat, invoice.messageId, payer, overrides);
      expect(paid.answer?.ok, String(reason)).toBe(false);
      expect(paid.answer?.error_message).toMatch(reason);
      expect(paid.answer?.late).toBe(false); // answered within Telegram's 10 s
      expect(paid.payment).toBeUndefined();
    }
    expect(await paymentsOf(h, bob)).toEqual([]);
    expect((await userOf(h, bob))?.plan).toBe('free');
    expect(await userOf(h, mallory)).toBeUndefined();
  });

  it('extends a free-plan app for Stars, and refuses to sell an extension of an ended one', async () => {
    const { fake, t } = h;
    const carol = fake.user('Carol');
    const chat = fake.privateChat(carol);
    await fake.sendText(chat, carol, '/spawn a landing page for a bakery');
    const result = await botMessage(fake, chat, (m) => isResult(m), 'the result');
    const id = appIdOf(result);
    // The card offers Pro to a free-plan owner.
    expect(fake.button(result, /Upgrade to Pro/)).toBe(`upgrade:${id}:pro`);
    const press = await fake.press(chat, result.messageId, carol, `extend:${id}`);
    await fake.callbackAnswer(press.queryId);
    const offer = await botMessage(
      fake,
      chat,
      (m) => /Extend this app/.test(m.text ?? ''),
      'the extension offer',
    );
    const buy = await fake.press(chat, offer.messageId, carol, fake.button(offer, /Extend by 2 h \(50 ⭐\)/));
    expect((await fake.callbackAnswer(buy.queryId)).text).toMatch(/Invoice sent: 50/);
    const invoice = await botMessage(
      fake,
      chat,
      (m) => m.invoice?.total_amount === 50,
      'the extension invoice',
    );
    expect(invoice.invoice?.title).toBe('Extend your app');

    const before = (await t.app.repos.sessions.get(id))!.expiresAt!.getTime();
    const paid = await fake.pay(chat, invoice.messageId, carol);
    expect(paid.answer?.ok).toBe(true);
    await botMessage(fake, chat, (m) => /Session extended/.test(m.text ?? ''), 'the confirmation');
    expect((await t.app.repos.sessions.get(id))!.expiresAt!.getTime()).toBe(before + 2 * 3600_000);

    // An invoice for an app that ends before it is paid is refused at pre-checkout.
    const second = await fake.press(chat, offer.messageId, carol, fake.button(offer, /Extend by/));
    await fake.callbackAnswer(second.queryId);
    const stale = await until(
      'a second invoice',
      async () => fake.botMessages(chat).filter((m) => m.invoice?.total_amount === 50)[1],
    );
    await t.app.lifecycle.end((await t.app.repos.sessions.get(id))!, 'stopped', 'test', 'stopped by test');
    const refused = await fake.pay(chat, stale.messageId, carol);
    expect(refused.answer).toMatchObject({
      ok: false,
      error_message: expect.stringMatching(/already stopped/),
    });
    expect((await paymentsOf(h, carol)).map((p) => p.kind)).toEqual(['extend']);

    // And the button of an ended app no longer sells anything.
    const late = await fake.press(chat, offer.messageId, carol, fake.button(offer, /Extend by/));
    expect(await fake.callbackAnswer(late.queryId)).toMatchObject({
      text: 'That app has already stopped.',
      show_alert: true,
    });
    expect(await sessionsOf(h, carol)).toHaveLength(1);
  });
});

describe('Telegram Stars by long polling', () => {
  let h: TelegramHarness;
  beforeAll(async () => {
    h = await startTelegram('polling', STARS);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('answers the pre-checkout query in the update handler and grants build credits once', async () => {
    const { fake } = h;
    const dave = fake.user('Dave');
    const chat = fake.privateChat(dave);
    await fake.sendText(chat, dave, '/buy');
    const offer = await botMessage(
      fake,
      chat,
      (m) => /Build credits/.test(m.text ?? ''),
      'the credits offer',
    );
    const press = await fake.press(chat, offer.messageId, dave, fake.button(offer, /100 ⭐/));
    expect((await fake.callbackAnswer(press.queryId)).text).toMatch(/Invoice sent/);
    const invoice = await botMessage(fake, chat, (m) => m.invoice !== undefined, 'the invoice');
    const paid = await fake.pay(chat, invoice.messageId, dave);
    expect(paid.answer?.ok).toBe(true);
    expect(paid.answer?.late).toBe(false); // answered within Telegram's 10 s
    await botMessage(fake, chat, (m) => /Credits added/.test(m.text ?? ''), 'the confirmation');
    expect((await userOf(h, dave))?.credits).toBe(20);
    await fake.deliver(paid.payment!.update);
    await until('redelivery consumed', async () => fake.state.pending.length === 0);
    expect((await userOf(h, dave))?.credits).toBe(20);
    expect(await paymentsOf(h, dave)).toHaveLength(1);
  });
});
