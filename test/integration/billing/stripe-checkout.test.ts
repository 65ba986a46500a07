import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingService, CHECKOUT_KEY_WINDOW_S } from '../../../src/billing/service.js';
import { CheckoutLinks } from '../../../src/billing/signed-link.js';
import { createStripeClient } from '../../../src/billing/stripe-client.js';
import { silentLogger } from '../../../src/log.js';
import { pushEvent, stripeEvent } from '../../fakes/stripe/events.js';
import { FakeStripe } from '../../fakes/stripe/server.js';
import { inboundSettled, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { startFakeStripe, stripeEnv, WEBHOOK_SECRET } from '../../helpers/stripe.js';
import { WebChatClient, type WebMessage } from '../../helpers/web-client.js';

let stripe: FakeStripe;
let t: TestApp;

beforeAll(async () => {
  stripe = await startFakeStripe();
  t = await startTestApp({
    ...stripeEnv(stripe),
    FREE_LIVE_SESSIONS: '1',
    FREE_BUILDS_PER_DAY: '50',
    CHECKOUT_SESSIONS_PER_HOUR: '5',
  });
});
afterAll(async () => {
  await t?.stop();
  await stripe?.stop();
});

const webhook = () => `${t.url}/stripe/webhook`;

function linkOf(view: WebMessage['view'], label: RegExp): string {
  const button = view.buttons?.find((b) => b.kind === 'link' && label.test(b.label));
  if (button?.kind !== 'link') throw new Error(`no ${label} link in ${JSON.stringify(view)}`);
  return button.url;
}

async function liveSession(client: WebChatClient, prompt: string): Promise<string> {
  const sent = await client.send(`/spawn ${prompt}`);
  const sessionId = sent.spawn!.sessionId;
  await until('live', async () => (await t.app.repos.sessions.get(sessionId))?.status === 'live');
  return sessionId;
}

async function userOf(client: WebChatClient) {
  const uid = await client.open();
  const identity = await t.app.repos.users.findIdentity('web', '', uid);
  return (await t.app.repos.users.get(identity!.userId))!;
}

describe('Stripe Checkout in the chat', () => {
  it('over the free quota: a checkout link; once paid, Pro is granted, the chat is told, the next spawn allowed', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    await liveSession(client, 'a todo list for the book club');
    const refused = await client.send('/spawn a guestbook for the book club');
    expect(refused.spawn).toBeUndefined();
    expect(refused.replies[0]!.view).toMatchObject({ tone: 'error', title: 'Limit reached' });
    const checkoutUrl = linkOf(refused.replies[0]!.view, /Upgrade to Pro/);
    expect(checkoutUrl.startsWith(`${stripe.url}/c/pay/cs_test_`)).toBe(true);

    const cs = stripe.checkoutSessions.get(FakeStripe.sessionIdOf(checkoutUrl))!;
    const user = await userOf(client);
    expect(cs).toMatchObject({
      mode: 'subscription',
      client_reference_id: user.id,
      metadata: { kind: 'pro', user_id: user.id },
    });
    expect(cs.success_url).toBe(`${t.config.PUBLIC_URL}/billing/success?session_id={CHECKOUT_SESSION_ID}`);
    expect(cs.expires_at - Math.floor(Date.now() / 1000)).toBeGreaterThan(30 * 60);

    stripe.complete(cs.id);
    const res = await pushEvent(webhook(), stripeEvent('checkout.session.completed', { ...cs }), {
      secret: WEBHOOK_SECRET,
    });
    await inboundSettled(t.app);
    expect(res.status).toBe(200);

    const fresh = (await t.app.repos.users.get(user.id))!;
    expect(fresh.plan).toBe('pro');
    expect(fresh.stripeCustomerId).toBe(cs.customer);
    await until('told in the chat', async () =>
      (await client.history()).find((m) => m.view.title === 'Pro active'),
    );

    const allowed = await client.send('/spawn a guestbook for the book club');
    expect(allowed.spawn?.duplicate).toBe(false);

    // Subscribers get a Customer Portal link from /billing.
    const billing = await client.send('/billing');
    expect(billing.replies[0]!.view.text).toContain('Pro plan');
    expect(linkOf(billing.replies[0]!.view, /Manage billing/)).toMatch(`${stripe.url}/p/session/bps_test_`);
    expect(stripe.portalSessions.at(-1)).toMatchObject({
      customer: cs.customer,
      return_url: `${t.config.PUBLIC_URL}/billing/return`,
    });
  });

  it('grants once: the same event three times, and two events of one checkout at once', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const reply = await client.send('/buy');
    const user = await userOf(client);
    const cs = stripe.checkoutSessions.get(
      FakeStripe.sessionIdOf(linkOf(reply.replies[0]!.view, /credits/)),
    )!;
    expect(cs.mode).toBe('payment');
    stripe.complete(cs.id);

    const completed = stripeEvent('checkout.session.completed', { ...cs });
    for (let i = 0; i < 3; i++) {
      expect((await pushEvent(webhook(), completed, { secret: WEBHOOK_SECRET })).status).toBe(200);
      await inboundSettled(t.app);
    }
    expect((await t.app.repos.users.get(user.id))!.credits).toBe(20);

    const reply2 = await client.send('/buy');
    const cs2 = stripe.checkoutSessions.get(
      FakeStripe.sessionIdOf(linkOf(reply2.replies[0]!.view, /credits/)),
    )!;
    stripe.complete(cs2.id);
    const results = await Promise.all([
      pushEvent(webhook(), stripeEvent('checkout.session.completed', { ...cs2 }), { secret: WEBHOOK_SECRET }),
      pushEvent(webhook(), stripeEvent('checkout.session.async_payment_succeeded', { ...cs2 }), {
        secret: WEBHOOK_SECRET,
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    await inboundSettled(t.app);
    expect((await t.app.repos.users.get(user.id))!.credits).toBe(40);
    const payments = (await t.app.repos.payments.listByUser(user.id)).filter((p) => p.status === 'paid');
    expect(payments).toHaveLength(2);
    const grants = (await t.app.repos.audit.listFor('user', user.id)).filter(
      (a) => a.action === 'credits.granted',
    );
    expect(grants).toHaveLength(2);
  });

  it('refuses forged, stale and re-serialised deliveries with 400 and grants nothing', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const reply = await client.send('/buy');
    const user = await userOf(client);
    const cs = stripe.checkoutSessions.get(
      FakeStripe.sessionIdOf(linkOf(reply.replies[0]!.view, /credits/)),
    )!;
    stripe.complete(cs.id);
    const event = stripeEvent('checkout.session.completed', { ...cs });
    const attempts = [
      pushEvent(webhook(), event, { secret: 'whsec_not_the_secret' }),
      pushEvent(webhook(), event, { secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 301 }),
      pushEvent(webhook(), event, { secret: WEBHOOK_SECRET, bodyOverride: JSON.stringify(event) }),
      pushEvent(webhook(), event, { secret: WEBHOOK_SECRET, signature: 'garbage' }),
      fetch(webhook(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_STRIPE_SIGNATURE');
    }
    expect((await t.app.repos.users.get(user.id))!.credits).toBe(0);
    expect((await t.app.repos.payments.findByCheckoutSession(cs.id))?.status).toBe('pending');
    // The genuine delivery still works afterwards.
    expect((await pushEvent(webhook(), event, { secret: WEBHOOK_SECRET })).status).toBe(200);
    await inboundSettled(t.app);
    expect((await t.app.repos.users.get(user.id))!.credits).toBe(20);
  });

  it('a paid extension from the Extend button moves the end of the app and says so', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sessionId = await liveSession(client, 'a landing page for a florist');
    const before = (await t.app.repos.sessions.get(sessionId))!.expiresAt!;
    const offer = await client.act('extend', sessionId);
    const url = linkOf(offer.replies![0]!.view, /Extend by 2 h/);
    const cs = stripe.complete(FakeStripe.sessionIdOf(url));
    expect(cs.metadata).toMatchObject({ kind: 'extend', session_id: sessionId });
    await pushEvent(webhook(), stripeEvent('checkout.session.completed', { ...cs }), {
      secret: WEBHOOK_SECRET,
    });
    await inboundSettled(t.app);
    const after = (await t.app.repos.sessions.get(sessionId))!.expiresAt!;
    expect(after.getTime() - before.getTime()).toBe(2 * 3600_000);
    const told = await until('extension message', async () =>
      (await client.history()).find((m) => m.view.title === 'Session extended'),
    );
    expect(told.view.text).toBe(`Session extended to ${after.toISOString().slice(11, 16)} UTC.`);
    await client.act('stop', sessionId);
  });

  it('a refunded credit pack takes the credits back and says so', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const reply = await client.send('/buy');
    const user = await userOf(client);
    const cs = stripe.complete(FakeStripe.sessionIdOf(linkOf(reply.replies[0]!.view, /credits/)));
    await pushEvent(webhook(), stripeEvent('checkout.session.completed', { ...cs }), {
      secret: WEBHOOK_SECRET,
    });
    await inboundSettled(t.app);
    expect((await t.app.repos.users.get(user.id))!.credits).toBe(20);
    const refund = stripeEvent('charge.refunded', {
      id: 'ch_1',
      object: 'charge',
      payment_intent: cs.payment_intent,
      refunded: true,
    });
    await pushEvent(webhook(), refund, { secret: WEBHOOK_SECRET });
    await inboundSettled(t.app);
    await pushEvent(webhook(), refund, { secret: WEBHOOK_SECRET });
    await inboundSettled(t.app);
    expect((await t.app.repos.users.get(user.id))!.credits).toBe(0);
    await until('refund message', async () =>
      (await client.history()).find((m) => m.view.title === 'Refund received'),
    );
  });

  it('the status card carries a signed Upgrade link that opens Checkout; a tampered one is refused', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sessionId = await liveSession(client, 'a notes app for a choir');
    const card = (await client.cards(sessionId))[0]!;
    const link = linkOf(card.view, /Upgrade to Pro/);
    expect(link.startsWith(`${t.config.PUBLIC_URL}/billing/checkout?t=`)).toBe(true);
    const res = await fetch(link.replace(t.config.PUBLIC_URL, t.url), { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(`${stripe.url}/c/pay/cs_test_`);
    const tampered = link.replace(/t=([A-Za-z0-9_-])/, (_m, c: string) => `t=${c === 'A' ? 'B' : 'A'}`);
    expect((await fetch(tampered.replace(t.config.PUBLIC_URL, t.url), { redirect: 'manual' })).status).toBe(
      400,
    );
    await client.act('stop', sessionId);
  });

  it('answers /upgrade with Pro and Team and the plans compared', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const reply = await client.send('/upgrade');
    expect(reply.replies[0]!.view.text).toMatch(/Pro: 5 apps at once, 200 builds a day/);
    expect(linkOf(reply.replies[0]!.view, /Get Pro/)).toMatch(`${stripe.url}/c/pay/`);
    expect(linkOf(reply.replies[0]!.view, /Get Team/)).toMatch('/billing/checkout?t=');
    // Asking again (a double click, a second look) offers the same open Checkout Session.
    const creates = () =>
      stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');
    const before = creates().length;
    const again = await client.send('/upgrade');
    expect(linkOf(again.replies[0]!.view, /Get Pro/)).toBe(linkOf(reply.replies[0]!.view, /Get Pro/));
    expect(creates().length).toBe(before);
    // Once it expired unpaid, the next ask opens a new one.
    stripe.expire(FakeStripe.sessionIdOf(linkOf(reply.replies[0]!.view, /Get Pro/)));
    const third = await client.send('/upgrade');
    expect(linkOf(third.replies[0]!.view, /Get Pro/)).not.toBe(linkOf(reply.replies[0]!.view, /Get Pro/));
  });

  it('40 presses of one Buy button at once open one Checkout Session and one order', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    await client.send('/billing');
    const user = await userOf(client);
    const link = t.app.billing.link(user, 'credits').replace(t.config.PUBLIC_URL, t.url);
    const presses = await Promise.all(Array.from({ length: 40 }, () => fetch(link, { redirect: 'manual' })));
    expect(presses.map((r) => r.status)).toEqual(Array(40).fill(303));
    const pages = new Set(presses.map((r) => r.headers.get('location')));
    expect(pages.size).toBe(1);
    const ofUser = [...stripe.checkoutSessions.values()].filter((cs) => cs.client_reference_id === user.id);
    expect(ofUser).toHaveLength(1);
    expect(await t.app.repos.payments.listByUser(user.id)).toHaveLength(1);
    expect(stripe.idempotencyErrors).toBe(0);
  });

  it('a person may open CHECKOUT_SESSIONS_PER_HOUR new payment pages an hour; then is told how long to wait', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    await client.send('/billing');
    const user = await userOf(client);
    const press = (sessionId: string) =>
      fetch(t.app.billing.link(user, 'extend', sessionId).replace(t.config.PUBLIC_URL, t.url), {
        redirect: 'manual',
      });
    const opened: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await press(`app${i}`);
      expect(res.status).toBe(303);
      opened.push(res.headers.get('location')!);
    }
    const refused = await press('app5');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ERR_RATE_LIMITED');
    expect(body.error.message).toMatch(
      /^You opened 5 payment pages in the last hour; use one of them, or try again in \d+ minutes?\.$/,
    );
    // The pages already open stay available.
    const again = await press('app0');
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(opened[0]);
    expect(
      [...stripe.checkoutSessions.values()].filter((cs) => cs.client_reference_id === user.id),
    ).toHaveLength(5);
  });

  it('the same purchase from two processes a second apart: one idempotency key, one set of parameters, one page', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    await client.send('/billing');
    const user = await userOf(client);
    // Two web processes whose clocks read 1.5 s apart, in the same key window.
    const windowMs = CHECKOUT_KEY_WINDOW_S * 1000;
    const at = Math.floor(Date.now() / windowMs) * windowMs + 1000;
    const process = (offsetMs: number) =>
      new BillingService({
        config: t.config,
        repos: t.app.repos,
        queues: t.app.queues,
        plans: t.app.billing.plans(),
        links: new CheckoutLinks('x'.repeat(32), t.config.PUBLIC_URL),
        stripe: createStripeClient(t.config),
        logger: silentLogger(),
        now: () => new Date(at + offsetMs),
      });
    const errorsBefore = stripe.idempotencyErrors;
    const requestsBefore = stripe.requests.length;
    const [a, b] = await Promise.all([process(0).checkout(user, 'pro'), process(1500).checkout(user, 'pro')]);
    expect(a).toBe(b);
    expect(stripe.idempotencyErrors).toBe(errorsBefore);
    // Both ask Stripe with the same key, or the later one finds the first one's open page
    // (it read the order after the first process wrote it) and asks nothing: a CI run saw both.
    const creates = stripe.requests
      .slice(requestsBefore)
      .filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');
    expect(creates.length).toBeGreaterThanOrEqual(1);
    expect(new Set(creates.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(
      [...stripe.checkoutSessions.values()].filter((cs) => cs.client_reference_id === user.id),
    ).toHaveLength(1);
  });
});
