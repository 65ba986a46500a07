import type Stripe from 'stripe';
import type { Config } from '../config/index.js';
import type { ConversationRef } from '../core/platform.js';
import type { Repos, UserRow } from '../db/repos/index.js';
import type { Logger } from '../log.js';
import { applyGrant, type GrantNotice, revokeGrant } from './grants.js';
import { PLAN_LABEL, type PlanName, RENEWAL_GRACE_MS } from './plans.js';
import type { BillingService } from './service.js';
import type { PurchaseKind } from './signed-link.js';
import { checkStripeEvent } from './stripe-event.js';

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

type Outcome = 'applied' | 'ignored';

/**
 * Applies one verified Stripe event, once. Everything happens in one transaction with the
 * record of the event id, so a redelivered event (or a crash half-way) never grants twice;
 * messages to the person are queued after the commit. An event SpawnAI cannot read (see
 * {@link checkStripeEvent}) is `refused` and changes nothing; one about a person or order
 * SpawnAI does not know is `ignored`.
 */
export async function applyStripeEvent(
  event: Stripe.Event,
  deps: { repos: Repos; config: Config; billing: BillingService; logger: Logger },
): Promise<'applied' | 'duplicate' | 'ignored' | 'refused'> {
  const checked = checkStripeEvent(event);
  if (!checked.ok) {
    deps.logger.error(
      { eventId: checked.eventId, type: checked.type, reason: checked.reason },
      'stripe event refused',
    );
    return 'refused';
  }
  const notices: Notice[] = [];
  const log = deps.logger;
  const result = await deps.repos.transaction(async (tx): Promise<'duplicate' | Outcome> => {
    if (!(await tx.inboundEvents.record('stripe', event.id))) return 'duplicate';
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return checkoutPaid(tx, deps.config, event, event.data.object, notices, log);
      case 'invoice.paid':
        return invoicePaid(tx, deps.config, event, event.data.object, notices);
      case 'customer.subscription.updated':
        return subscriptionUpdated(tx, deps.config, event.data.object, notices);
      case 'customer.subscription.deleted':
        return subscriptionDeleted(tx, deps.billing, event.data.object, notices);
      case 'charge.refunded':
        return chargeRefunded(tx, deps.config, event.data.object, notices);
      default:
        return 'ignored';
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

/**
 * A paid Checkout Session grants what its order (the pending payment written when SpawnAI
 * created the session) was for, to whom it was for, once, and only when Stripe took the amount
 * and currency of the order. The event's own metadata is not trusted for any of it.
 */
async function checkoutPaid(
  tx: Repos,
  config: Config,
  event: Stripe.Event,
  cs: Stripe.Checkout.Session,
  notices: Notice[],
  logger: Logger,
): Promise<Outcome> {
  if (cs.payment_status === 'unpaid') return 'ignored'; // a delayed method: async_payment_succeeded follows
  const order = await tx.payments.findByCheckoutSession(cs.id);
  if (order?.provider !== 'stripe') {
    logger.warn(
      { eventId: event.id, checkoutSessionId: cs.id },
      'a paid checkout this service did not open; ignored',
    );
    return 'ignored';
  }
  const ids = {
    stripeEventId: event.id,
    stripePaymentIntentId: idOf(cs.payment_intent) ?? null,
    stripeSubscriptionId: idOf(cs.subscription) ?? null,
  };
  if (
    cs.amount_total !== order.amount ||
    (cs.currency ?? '').toLowerCase() !== order.currency.toLowerCase()
  ) {
    const marked = await tx.payments.markMismatchOnce(cs.id, ids);
    if (!marked) return 'ignored';
    logger.error(
      {
        eventId: event.id,
        checkoutSessionId: cs.id,
        ordered: `${order.amount} ${order.currency}`,
        paid: `${cs.amount_total} ${cs.currency}`,
      },
      'a paid checkout does not match its order; nothing granted',
    );
    await tx.audit.write({
      actor: 'stripe',
      action: 'payment.mismatch',
      subjectType: 'user',
      subjectId: order.userId,
      data: { checkoutSessionId: cs.id, ordered: order.amount, paid: cs.amount_total, currency: cs.currency },
    });
    notices.push({
      conversation: order.conversation,
      notice: {
        title: 'Payment not applied',
        text: 'Your payment does not match the order it was made for, so nothing was changed. The operator has been told and will sort it out with you.',
      },
      key: `${order.id}-mismatch`,
    });
    return 'applied';
  }
  const payment = await tx.payments.markPaidOnce(cs.id, ids);
  if (!payment) return 'ignored'; // granted before (a second event of the same checkout)
  const notice = await applyGrant(tx, config, {
    userId: payment.userId,
    kind: payment.kind as PurchaseKind,
    sessionId: payment.sessionId,
    stripeCustomerId: idOf(cs.customer) ?? null,
    stripeSubscriptionId: idOf(cs.subscription) ?? null,
    actor: 'stripe',
  });
  notices.push({ conversation: payment.conversation, notice, key: payment.id });
  return 'applied';
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
): Promise<Outcome> {
  const user = await userOfCustomer(tx, invoice.customer);
  if (!user) return 'ignored';
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
  if (!payment || user.plan === 'free' || periodEnd === 0) return 'ignored';
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
  return 'applied';
}

async function subscriptionUpdated(
  tx: Repos,
  config: Config,
  sub: Stripe.Subscription,
  notices: Notice[],
): Promise<Outcome> {
  const user = await userOfCustomer(tx, sub.customer);
  if (!user) return 'ignored';
  const item = sub.items.data[0];
  const plan = planOfPrice(config, item?.price?.id);
  const periodEnd = item?.current_period_end;
  if (!plan || !periodEnd || !['active', 'trialing'].includes(sub.status)) return 'ignored';
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
  return 'applied';
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
): Promise<Outcome> {
  const user = await userOfCustomer(tx, sub.customer);
  if (!user) return 'ignored';
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
  return 'applied';
}

async function chargeRefunded(
  tx: Repos,
  config: Config,
  charge: Stripe.Charge,
  notices: Notice[],
): Promise<Outcome> {
  const pi = idOf(charge.payment_intent);
  if (!pi) return 'ignored';
  const payment = await tx.payments.findByPaymentIntent(pi);
  if (payment?.status !== 'paid') return 'ignored';
  await tx.payments.update(payment.id, { status: 'refunded', refundedAt: new Date() });
  const notice = await revokeGrant(tx, config, {
    userId: payment.userId,
    kind: payment.kind,
    actor: 'stripe',
  });
  notices.push({ conversation: payment.conversation, notice, key: `${payment.id}-refund` });
  return 'applied';
}
