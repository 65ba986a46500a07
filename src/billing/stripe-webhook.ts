import type Stripe from 'stripe';
import type { Config } from '../config/index.js';
import type { ConversationRef } from '../core/platform.js';
import type { Repos, UserRow } from '../db/repos/index.js';
import type { Logger } from '../log.js';
import { applyGrant, type GrantNotice, revokeGrant } from './grants.js';
import { PLAN_LABEL, type PlanName, RENEWAL_GRACE_MS } from './plans.js';
import type { BillingService } from './service.js';
import type { PurchaseKind } from './signed-link.js';

/** Stripe's default: an event older than this is refused (replays). */
export const STRIPE_SIGNATURE_TOLERANCE_S = 300;

interface Notice {
  conversation: ConversationRef | null | undefined;
  notice: GrantNotice;
  key: string;
}

const idOf = (v: string | { id: string } | null | undefined): string | undefined =>
  typeof v === 'string' ? v : (v?.id ?? undefined);

function date(at: Date): string {
  return `${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 16)} UTC`;
}

/**
 * Applies one verified Stripe event, once. Everything happens in one transaction with the
 * record of the event id, so a redelivered event (or a crash half-way) never grants twice;
 * messages to the person are queued after the commit.
 */
export async function applyStripeEvent(
  event: Stripe.Event,
  deps: { repos: Repos; config: Config; billing: BillingService; logger: Logger },
): Promise<'applied' | 'duplicate' | 'ignored'> {
  const notices: Notice[] = [];
  const result = await deps.repos.transaction(async (tx) => {
    if (!(await tx.inboundEvents.record('stripe', event.id))) return 'duplicate' as const;
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        await checkoutPaid(tx, deps.config, event, event.data.object, notices);
        return 'applied' as const;
      case 'invoice.paid':
        await invoicePaid(tx, deps.config, event, event.data.object, notices);
        return 'applied' as const;
      case 'customer.subscription.updated':
        await subscriptionUpdated(tx, deps.config, event.data.object, notices);
        return 'applied' as const;
      case 'customer.subscription.deleted':
        await subscriptionDeleted(tx, deps.billing, event.data.object, notices);
        return 'applied' as const;
      case 'charge.refunded':
        await chargeRefunded(tx, deps.config, event.data.object, notices);
        return 'applied' as const;
      default:
        return 'ignored' as const;
    }
  });
  for (const n of notices) {
    await deps.billing.tell(
      n.conversation,
      {
        tone: 'success',
        title: n.notice.title,
        text: n.notice.text,
        ...(n.notice.sessionId ? { sessionId: n.notice.sessionId } : {}),
      },
      n.key,
    );
  }
  if (result === 'applied') deps.logger.info({ eventId: event.id, type: event.type }, 'stripe event applied');
  return result;
}

async function checkoutPaid(
  tx: Repos,
  config: Config,
  event: Stripe.Event,
  cs: Stripe.Checkout.Session,
  notices: Notice[],
): Promise<void> {
  if (cs.payment_status === 'unpaid') return; // a delayed method: async_payment_succeeded follows
  const kind = cs.metadata?.kind as PurchaseKind | undefined;
  const userId = cs.client_reference_id ?? cs.metadata?.user_id;
  if (!kind || !userId) return;
  const facts = {
    stripeEventId: event.id,
    stripePaymentIntentId: idOf(cs.payment_intent) ?? null,
    stripeSubscriptionId: idOf(cs.subscription) ?? null,
    amount: cs.amount_total ?? 0,
    currency: cs.currency ?? 'usd',
  };
  let payment = await tx.payments.markPaidOnce(cs.id, facts);
  if (!payment) {
    if (await tx.payments.findByCheckoutSession(cs.id)) return; // granted before
    payment = await tx.payments.insertOnce({
      userId,
      sessionId: cs.metadata?.session_id ?? null,
      provider: 'stripe',
      kind,
      plan: kind === 'pro' || kind === 'team' ? kind : null,
      stripeCheckoutSessionId: cs.id,
      status: 'paid',
      grantedAt: new Date(),
      ...facts,
    });
    if (!payment) return;
  }
  const notice = await applyGrant(tx, config, {
    userId: payment.userId,
    kind,
    sessionId: payment.sessionId,
    stripeCustomerId: idOf(cs.customer) ?? null,
    stripeSubscriptionId: idOf(cs.subscription) ?? null,
    actor: 'stripe',
  });
  notices.push({ conversation: payment.conversation, notice, key: payment.id });
}

function planOfPrice(config: Config, priceId: string | undefined): PlanName | undefined {
  if (priceId && priceId === config.STRIPE_PRICE_TEAM) return 'team';
  if (priceId && priceId === config.STRIPE_PRICE_PRO) return 'pro';
  return undefined;
}

async function userOfCustomer(tx: Repos, customer: string | { id: string } | null | undefined) {
  const id = idOf(customer);
  return id ? tx.users.findByStripeCustomer(id) : undefined;
}

async function conversationOf(tx: Repos, user: UserRow): Promise<ConversationRef | null> {
  return (await tx.payments.latestWithConversation(user.id))?.conversation ?? null;
}

async function invoicePaid(
  tx: Repos,
  _config: Config,
  event: Stripe.Event,
  invoice: Stripe.Invoice,
  notices: Notice[],
): Promise<void> {
  const user = await userOfCustomer(tx, invoice.customer);
  if (!user) return;
  const subscriptionId = idOf(invoice.parent?.subscription_details?.subscription);
  const periodEnd = Math.max(0, ...invoice.lines.data.map((l) => l.period?.end ?? 0));
  const payment = await tx.payments.insertOnce({
    userId: user.id,
    provider: 'stripe',
    kind: 'renewal',
    plan: user.plan,
    stripeEventId: event.id,
    stripeSubscriptionId: subscriptionId ?? null,
    amount: invoice.amount_paid,
    currency: invoice.currency,
    status: 'paid',
    grantedAt: new Date(),
  });
  if (!payment || user.plan === 'free' || periodEnd === 0) return;
  const until = new Date(periodEnd * 1000 + RENEWAL_GRACE_MS);
  await tx.users.update(user.id, { planExpiresAt: until });
  await tx.audit.write({
    actor: 'stripe',
    action: 'plan.renewed',
    subjectType: 'user',
    subjectId: user.id,
    data: { until: until.toISOString(), reason: invoice.billing_reason },
  });
  if (invoice.billing_reason === 'subscription_cycle') {
    const label = PLAN_LABEL[user.plan as PlanName] ?? user.plan;
    notices.push({
      conversation: await conversationOf(tx, user),
      notice: {
        title: `${label} renewed`,
        text: `${label} renewed until ${date(new Date(periodEnd * 1000))}.`,
      },
      key: event.id,
    });
  }
}

async function subscriptionUpdated(
  tx: Repos,
  config: Config,
  sub: Stripe.Subscription,
  notices: Notice[],
): Promise<void> {
  const user = await userOfCustomer(tx, sub.customer);
  if (!user) return;
  const item = sub.items.data[0];
  const plan = planOfPrice(config, item?.price?.id);
  const periodEnd = item?.current_period_end;
  if (!plan || !periodEnd || !['active', 'trialing'].includes(sub.status)) return;
  const end = new Date(periodEnd * 1000);
  const wasEnding =
    user.plan === plan &&
    user.stripeSubscriptionId === sub.id &&
    user.planExpiresAt?.getTime() === end.getTime();
  await tx.users.update(user.id, {
    plan,
    planExpiresAt: sub.cancel_at_period_end ? end : new Date(end.getTime() + RENEWAL_GRACE_MS),
    stripeSubscriptionId: sub.id,
  });
  await tx.audit.write({
    actor: 'stripe',
    action: 'plan.updated',
    subjectType: 'user',
    subjectId: user.id,
    data: { plan, periodEnd: end.toISOString(), cancelAtPeriodEnd: sub.cancel_at_period_end },
  });
  if (sub.cancel_at_period_end && !wasEnding) {
    notices.push({
      conversation: await conversationOf(tx, user),
      notice: {
        title: `${PLAN_LABEL[plan]} ends soon`,
        text: `${PLAN_LABEL[plan]} stays active until ${date(end)}; then you are on the free plan.`,
      },
      key: `${sub.id}-ending-${periodEnd}`,
    });
  }
}

/**
 * The subscription has ended: back to free at the end of the paid period. Running apps are
 * not cut short: those beyond the free plan's limit are told and end at their own time.
 */
async function subscriptionDeleted(
  tx: Repos,
  billing: BillingService,
  sub: Stripe.Subscription,
  notices: Notice[],
): Promise<void> {
  const user = await userOfCustomer(tx, sub.customer);
  if (!user) return;
  const periodEnd = sub.items.data[0]?.current_period_end ?? 0;
  const until = new Date(Math.max(Date.now(), periodEnd * 1000));
  await tx.users.update(user.id, { planExpiresAt: until, stripeSubscriptionId: null });
  await tx.audit.write({
    actor: 'stripe',
    action: 'plan.ended',
    subjectType: 'user',
    subjectId: user.id,
    data: { plan: user.plan, until: until.toISOString() },
  });
  const label = PLAN_LABEL[user.plan as PlanName] ?? user.plan;
  notices.push({
    conversation: await conversationOf(tx, user),
    notice: {
      title: `${label} ended`,
      text: `Your ${label} subscription has ended; you are on the free plan from ${date(until)}. Running apps keep their time.`,
    },
    key: `${sub.id}-deleted`,
  });
  const free = billing.plans().free;
  const live = (await tx.sessions.listByUser(user.id, { activeOnly: true, limit: 200 })).reverse();
  for (const session of live.slice(free.liveSessions)) {
    notices.push({
      conversation: session.conversation,
      notice: {
        title: 'This app keeps running for now',
        text: `The free plan allows ${free.liveSessions} apps at once. This one keeps running until ${session.expiresAt ? date(session.expiresAt) : 'its time is up'}; it cannot be extended on the free plan.`,
        sessionId: session.id,
      },
      key: `${sub.id}-session-${session.id}`,
    });
  }
}

async function chargeRefunded(
  tx: Repos,
  config: Config,
  charge: Stripe.Charge,
  notices: Notice[],
): Promise<void> {
  const pi = idOf(charge.payment_intent);
  if (!pi) return;
  const payment = await tx.payments.findByPaymentIntent(pi);
  if (payment?.status !== 'paid') return;
  await tx.payments.update(payment.id, { status: 'refunded', refundedAt: new Date() });
  const notice = await revokeGrant(tx, config, {
    userId: payment.userId,
    kind: payment.kind,
    actor: 'stripe',
  });
  notices.push({ conversation: payment.conversation, notice, key: `${payment.id}-refund` });
}
