import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushEvent, stripeEvent, stripeSignature } from '../../fakes/stripe/events.js';
import { FakeStripe } from '../../fakes/stripe/server.js';
import { inboundResult, inboundSettled, startTestApp, type TestApp, until } from '../../helpers/app.js';
import { startFakeStripe, stripeEnv, WEBHOOK_SECRET } from '../../helpers/stripe.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * Deliveries a Stripe webhook endpoint may receive that are not ordinary events. Stripe retries
 * any non-2xx delivery for up to three days (https://docs.stripe.com/webhooks#retries): a
 * malformed event must be answered 4xx or acknowledged, never with a 500.
 */

let stripe: FakeStripe;
let t: TestApp;

beforeAll(async () => {
  stripe = await startFakeStripe();
  t = await startTestApp({ ...stripeEnv(stripe), FREE_BUILDS_PER_DAY: '50' });
});
afterAll(async () => {
  await t?.stop();
  await stripe?.stop();
});

const webhook = () => `${t.url}/stripe/webhook`;

/** Posts `body` exactly, correctly signed with the endpoint's secret. */
function signed(body: string, timestamp?: number): Promise<Response> {
  return fetch(webhook(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': stripeSignature(body, WEBHOOK_SECRET, timestamp),
    },
    body,
  });
}

/** A person with a pending credit-pack order (a Checkout Session opened from /buy). */
async function creditsOrder() {
  const client = new WebChatClient(t.url);
  const uid = await client.open();
  const reply = await client.send('/buy');
  const button = reply.replies[0]!.view.buttons!.find((b) => b.kind === 'link' && /credits/.test(b.label));
  const cs = stripe.checkoutSessions.get(FakeStripe.sessionIdOf(button?.kind === 'link' ? button.url : ''))!;
  const identity = await t.app.repos.users.findIdentity('web', '', uid);
  return { client, userId: identity!.userId, cs };
}

describe('Stripe webhook: deliveries that are not ordinary events', () => {
  it('refuses a signature timestamp an hour in the future, like a stale one', async () => {
    const { userId, cs } = await creditsOrder();
    stripe.complete(cs.id);
    const event = stripeEvent('checkout.session.completed', { ...cs });
    const future = Math.floor(Date.now() / 1000) + 3600;
    // Just past the 300 s tolerance; not 301, which a slow second on this side could bring under it.
    for (const timestamp of [future, Math.floor(Date.now() / 1000) + 330]) {
      const res = await pushEvent(webhook(), event, { secret: WEBHOOK_SECRET, timestamp });
      await inboundSettled(t.app);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_STRIPE_SIGNATURE');
    }
    expect((await t.app.repos.users.get(userId))!.credits).toBe(0);
    // A clock a few seconds apart is still fine.
    const res = await pushEvent(webhook(), event, {
      secret: WEBHOOK_SECRET,
      timestamp: Math.floor(Date.now() / 1000) + 5,
    });
    await inboundSettled(t.app);
    expect(res.status).toBe(200);
    expect((await t.app.repos.users.get(userId))!.credits).toBe(20);
  });

  it('answers correctly signed but malformed events with 400 (or acknowledges them), never 500, and changes nothing', async () => {
    const { userId, cs } = await creditsOrder();
    stripe.complete(cs.id);
    const good = stripeEvent('checkout.session.completed', { ...cs });
    const { data: _data, ...noData } = good;
    const { id: _id, ...noId } = good;
    const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const malformed: [string, string][] = [
      ['no data', JSON.stringify(noData)],
      ['data.object null', JSON.stringify({ ...good, id: `evt_${randomUUID()}`, data: { object: null } })],
      [
        'data.object a string',
        JSON.stringify({ ...good, id: `evt_${randomUUID()}`, data: { object: 'cs' } }),
      ],
      ['no id', JSON.stringify(noId)],
      ['2000-deep JSON', deep(2000)],
      [
        '2000-deep object inside an event',
        JSON.stringify({ ...good, id: `evt_${randomUUID()}` }).replace(
          '"livemode":false',
          `"livemode":${deep(2000)}`,
        ),
      ],
      ['an array', '[1,2,3]'],
    ];
    for (const [what, body] of malformed) {
      const res = await signed(body);
      expect(res.status, what).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, what).toBe('ERR_STRIPE_EVENT');
    }
    // A body that is not JSON at all is refused by the JSON body parser, before anything else.
    const notJson = await signed('evt_123');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('ERR_BAD_REQUEST');
    expect((await t.app.repos.users.get(userId))!.credits).toBe(0);
    expect((await t.app.repos.payments.findByCheckoutSession(cs.id))?.status).toBe('pending');
    // The real event still goes through afterwards.
    expect((await pushEvent(webhook(), good, { secret: WEBHOOK_SECRET })).status).toBe(200);
    await inboundSettled(t.app);
    expect((await t.app.repos.users.get(userId))!.credits).toBe(20);
  });

  it('acknowledges and ignores a paid checkout for a user or order it does not know', async () => {
    const stranger = randomUUID();
    const foreign = stripeEvent('checkout.session.completed', {
      id: `cs_test_${randomUUID().replaceAll('-', '')}`,
      object: 'checkout.session',
      mode: 'payment',
      status: 'complete',
      payment_status: 'paid',
      client_reference_id: stranger,
      metadata: { kind: 'credits', user_id: stranger },
      amount_total: 500,
      currency: 'usd',
      customer: 'cus_stranger',
      payment_intent: 'pi_stranger',
    });
    const res = await pushEvent(webhook(), foreign, { secret: WEBHOOK_SECRET });
    await inboundSettled(t.app);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: true });
    expect(await inboundResult(t.app, 'stripe', String(foreign.id))).toBe('ignored');
    expect(await t.app.repos.users.get(stranger)).toBeUndefined();
  });

  it('grants what the order was for, not what the event says, and only for the amount ordered', async () => {
    // The event claims a Team plan; the order (the Checkout Session we created) was a credit pack.
    const { client, userId, cs } = await creditsOrder();
    stripe.complete(cs.id);
    const relabelled = stripeEvent('checkout.session.completed', {
      ...cs,
      metadata: { ...cs.metadata, kind: 'team' },
    });
    expect((await pushEvent(webhook(), relabelled, { secret: WEBHOOK_SECRET })).status).toBe(200);
    await inboundSettled(t.app);
    const user = (await t.app.repos.users.get(userId))!;
    expect(user.plan).toBe('free');
    expect(user.credits).toBe(20);

    // Paid less than ordered: nothing is granted, the order is marked, the person is told.
    const short = await creditsOrder();
    stripe.complete(short.cs.id);
    const underpaid = stripeEvent('checkout.session.completed', { ...short.cs, amount_total: 1 });
    expect((await pushEvent(webhook(), underpaid, { secret: WEBHOOK_SECRET })).status).toBe(200);
    await inboundSettled(t.app);
    expect((await t.app.repos.users.get(short.userId))!.credits).toBe(0);
    expect((await t.app.repos.payments.findByCheckoutSession(short.cs.id))?.status).toBe('mismatch');
    await until('told', async () =>
      (await short.client.history()).find((m) => m.view.title === 'Payment not applied'),
    );
    expect((await client.history()).some((m) => m.view.title === 'Credits added')).toBe(true);
  });
});
