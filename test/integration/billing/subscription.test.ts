import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectivePlan } from '../../../src/billing/plans.js';
import { STRIPE_HANDLED_EVENTS } from '../../../src/billing/stripe-event.js';
import { pushEvent, stripeEvent } from '../../fakes/stripe/events.js';
import { FakeStripe } from '../../fakes/stripe/server.js';
import { deliver, eventFor } from '../../fakes/stripe/webhooks.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { startFakeStripe, stripeEnv, WEBHOOK_SECRET } from '../../helpers/stripe.js';
import { WebChatClient } from '../../helpers/web-client.js';

let stripe: FakeStripe;
let t: TestApp;

beforeAll(async () => {
  stripe = await startFakeStripe();
  t = await startTestApp({ ...stripeEnv(stripe), FREE_LIVE_SESSIONS: '1' });
});
afterAll(async () => {
  await t?.stop();
  await stripe?.stop();
});

const push = (type: string, object: Record<string, unknown>) =>
  pushEvent(`${t.url}/stripe/webhook`, stripeEvent(type, object), { secret: WEBHOOK_SECRET });

/** A person who bought Pro through Checkout, with `apps` live apps. */
async function proCustomer(apps: number) {
  const client = new WebChatClient(t.url);
  const uid = await client.open();
  const reply = await client.send('/upgrade');
  const link = reply.replies[0]!.view.buttons!.find((b) => b.kind === 'link' && b.label === 'Get Pro');
  const cs = stripe.complete(FakeStripe.sessionIdOf(link!.kind === 'link' ? link!.url : ''));
  expect((await push('checkout.session.completed', { ...cs })).status).toBe(200);
  const identity = await t.app.repos.users.findIdentity('web', '', uid);
  // The webhook is answered once queued; the grant is the worker's.
  await until('Pro granted', async () => (await t.app.repos.users.get(identity!.userId))?.plan === 'pro');
  const sessions: string[] = [];
  for (let i = 0; i < apps; i++) {
    const sent = await client.send(`/spawn a landing page number ${i}`);
    sessions.push(sent.spawn!.sessionId);
  }
  for (const id of sessions) {
    await until('live', async () => (await t.app.repos.sessions.get(id))?.status === 'live');
  }
  return { client, userId: identity!.userId, cs, sessions };
}

async function planEnd(userId: string): Promise<number | undefined> {
  return (await t.app.repos.users.get(userId))?.planExpiresAt?.getTime();
}

function subscription(
  cs: { subscription: string | null; customer: string | null },
  periodEnd: number,
  extra = {},
) {
  return {
    id: cs.subscription,
    object: 'subscription',
    customer: cs.customer,
    status: 'active',
    cancel_at_period_end: false,
    items: {
      object: 'list',
      data: [{ id: 'si_1', price: { id: 'price_pro' }, current_period_end: periodEnd }],
    },
    ...extra,
  };
}

describe('subscriptions', () => {
  it('a renewal moves the end of the plan; cancelling at period end says when it ends', async () => {
    const { client, userId, cs } = await proCustomer(0);
    const periodEnd = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
    const invoice = {
      id: 'in_1',
      object: 'invoice',
      customer: cs.customer,
      amount_paid: 900,
      currency: 'usd',
      billing_reason: 'subscription_cycle',
      parent: { type: 'subscription_details', subscription_details: { subscription: cs.subscription } },
      lines: { object: 'list', data: [{ period: { start: periodEnd - 30 * 86400, end: periodEnd } }] },
    };
    expect((await push('invoice.paid', invoice)).status).toBe(200);
    await until('plan end moved', async () => (await planEnd(userId)) === periodEnd * 1000 + 24 * 3600_000);
    await until('renewed', async () => (await client.history()).find((m) => m.view.title === 'Pro renewed'));

    expect(
      (
        await push(
          'customer.subscription.updated',
          subscription(cs, periodEnd, { cancel_at_period_end: true }),
        )
      ).status,
    ).toBe(200);
    await until('plan ends at the period end', async () => (await planEnd(userId)) === periodEnd * 1000);
    await until('ending notice', async () =>
      (await client.history()).find((m) => m.view.title === 'Pro ends soon'),
    );
  });

  it('deleted: back to free at the end of the period; apps beyond the free limit are told and keep their time', async () => {
    const { client, userId, cs, sessions } = await proCustomer(2);
    const expiries = await Promise.all(
      sessions.map(async (id) => (await t.app.repos.sessions.get(id))!.expiresAt!.getTime()),
    );

    // Cancelled with time left: still Pro until the period ends.
    const later = Math.floor(Date.now() / 1000) + 3600;
    expect(
      (await push('customer.subscription.deleted', subscription(cs, later, { status: 'canceled' }))).status,
    ).toBe(200);
    await until('plan end set', async () => (await planEnd(userId)) === later * 1000);
    const stillPro = (await t.app.repos.users.get(userId))!;
    expect(effectivePlan(stillPro)).toBe('pro');
    expect(stillPro.planExpiresAt!.getTime()).toBe(later * 1000);
    expect(effectivePlan(stillPro, new Date(later * 1000 + 1))).toBe('free');

    // The beyond-the-limit app is told; nothing ends at once.
    const extra = sessions[1]!;
    await until('told about the extra app', async () =>
      (await client.history()).find(
        (m) => m.view.title === 'This app keeps running for now' && m.view.sessionId === extra,
      ),
    );
    for (const [i, id] of sessions.entries()) {
      const s = (await t.app.repos.sessions.get(id))!;
      expect(s.status).toBe('live');
      expect(s.expiresAt!.getTime()).toBe(expiries[i]);
    }
    await until('told about the plan', async () =>
      (await client.history()).find((m) => m.view.title === 'Pro ended'),
    );
    for (const id of sessions) await client.act('stop', id);
  });

  it('refuses subscription events rendered at an API version older than 2025-03-31, naming the fix', async () => {
    const { userId, cs } = await proCustomer(0);
    const before = (await t.app.repos.users.get(userId))!.planExpiresAt!.getTime();
    const periodEnd = Math.floor(Date.now() / 1000) + 40 * 24 * 3600;
    const url = `${t.url}/stripe/webhook`;
    // An endpoint left at an old version: Stripe renders the billing period at the top level.
    const old = stripe.addWebhookEndpoint(url, [...STRIPE_HANDLED_EVENTS], '2024-06-20', WEBHOOK_SECRET);
    const sent = eventFor(old, 'customer.subscription.updated', subscription(cs, periodEnd));
    expect((sent.data as { object: { current_period_end?: number } }).object.current_period_end).toBe(
      periodEnd,
    );
    const refused = await pushEvent(url, sent, { secret: WEBHOOK_SECRET });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ERR_STRIPE_EVENT');
    expect(body.error.message).toContain('API version 2024-06-20');
    expect(body.error.message).toContain("set the webhook endpoint's API version to 2025-03-31 or later");
    expect((await t.app.repos.users.get(userId))!.planExpiresAt!.getTime()).toBe(before);
    // A well-versioned event without the fields of its version is refused as well.
    const { items: _items, ...noItems } = subscription(cs, periodEnd);
    expect((await push('customer.subscription.updated', noItems)).status).toBe(400);

    // The same change from an endpoint at the account's (current) version is applied.
    const current = stripe.addWebhookEndpoint(url, [...STRIPE_HANDLED_EVENTS], null, WEBHOOK_SECRET);
    expect(
      (await deliver(current, 'customer.subscription.updated', subscription(cs, periodEnd))).status,
    ).toBe(200);
    await until('applied', async () => (await planEnd(userId)) === periodEnd * 1000 + 24 * 3600_000);
  });

  it('ignores events it does not handle, and events for unknown customers, with 200', async () => {
    expect((await push('customer.created', { id: 'cus_x', object: 'customer' })).status).toBe(200);
    expect(
      (
        await push(
          'customer.subscription.deleted',
          subscription({ subscription: 'sub_x', customer: 'cus_unknown' }, 1),
        )
      ).status,
    ).toBe(200);
  });
});
