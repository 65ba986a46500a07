import type { Config } from '../config/index.js';
import { isTerminal } from '../core/status.js';
import type { Repos } from '../db/repos/index.js';
import { HOUR_MS } from '../util/time.js';
import { PLAN_LABEL, type PlanName, RENEWAL_GRACE_MS } from './plans.js';
import type { PurchaseKind } from './signed-link.js';

/** A first subscription period until Stripe's subscription events give the exact end. */
const FIRST_PERIOD_MS = 31 * 24 * HOUR_MS + RENEWAL_GRACE_MS;

export interface GrantInput {
  readonly userId: string;
  readonly kind: PurchaseKind;
  readonly sessionId?: string | null;
  /** Stripe facts to remember on the user (subscriptions). */
  readonly stripeCustomerId?: string | null;
  readonly stripeSubscriptionId?: string | null;
  /** Where a paid plan ends (Telegram Stars buy a fixed period). */
  readonly planUntil?: Date;
  readonly actor: string;
}

/** What to tell the person once the purchase is granted. */
export interface GrantNotice {
  readonly title: string;
  readonly text: string;
  readonly sessionId?: string;
}

function clock(at: Date): string {
  return `${at.toISOString().slice(11, 16)} UTC`;
}

/**
 * Gives a person what they paid for, inside the caller's transaction (the payment row is
 * written in the same one, so a purchase is granted exactly once).
 */
export async function applyGrant(
  tx: Repos,
  config: Pick<Config, 'CREDITS_PER_PACK' | 'EXTEND_HOURS'>,
  input: GrantInput,
  now = new Date(),
): Promise<GrantNotice> {
  const user = await tx.users.getForUpdate(input.userId);
  if (!user) throw new Error(`no user ${input.userId} for a grant`);
  const audit = (action: string, data: Record<string, unknown>) =>
    tx.audit.write({ actor: input.actor, action, subjectType: 'user', subjectId: user.id, data });

  if (input.kind === 'pro' || input.kind === 'team') {
    const plan: PlanName = input.kind;
    const until = input.planUntil ?? new Date(now.getTime() + FIRST_PERIOD_MS);
    await tx.users.update(user.id, {
      plan,
      planExpiresAt: until,
      ...(input.stripeCustomerId ? { stripeCustomerId: input.stripeCustomerId } : {}),
      ...(input.stripeSubscriptionId ? { stripeSubscriptionId: input.stripeSubscriptionId } : {}),
    });
    await audit('plan.granted', { plan, until: until.toISOString() });
    return {
      title: `${PLAN_LABEL[plan]} active`,
      text: `${PLAN_LABEL[plan]} is active. Thank you! Your next app gets the ${PLAN_LABEL[plan]} limits.`,
    };
  }

  if (input.kind === 'credits') {
    const credits = user.credits + config.CREDITS_PER_PACK;
    await tx.users.update(user.id, { credits });
    await audit('credits.granted', { added: config.CREDITS_PER_PACK, credits });
    return {
      title: 'Credits added',
      text: `${config.CREDITS_PER_PACK} build credits added; you have ${credits}. They are used when your daily builds run out.`,
    };
  }

  // extend
  const session = input.sessionId ? await tx.sessions.get(input.sessionId) : undefined;
  if (!session || isTerminal(session.status)) {
    const credits = user.credits + config.CREDITS_PER_PACK;
    await tx.users.update(user.id, { credits });
    await audit('extension.converted', { sessionId: input.sessionId ?? null, credits });
    return {
      title: 'Extension not needed',
      text: `That app had already ended, so you got ${config.CREDITS_PER_PACK} build credits instead.`,
    };
  }
  const add = config.EXTEND_HOURS * HOUR_MS;
  if (session.expiresAt) {
    const until = new Date(Math.max(session.expiresAt.getTime(), now.getTime()) + add);
    await tx.sessions.update(session.id, { expiresAt: until });
    await tx.audit.write({
      actor: input.actor,
      action: 'session.extended',
      subjectType: 'session',
      subjectId: session.id,
      data: { until: until.toISOString(), paid: true },
    });
    return { title: 'Session extended', text: `Session extended to ${clock(until)}.`, sessionId: session.id };
  }
  await tx.sessions.update(session.id, { ttlMinutes: session.ttlMinutes + config.EXTEND_HOURS * 60 });
  return {
    title: 'Session extended',
    text: `It will run ${config.EXTEND_HOURS} h longer once it is live.`,
    sessionId: session.id,
  };
}

/** Takes back what a refunded purchase gave (never below zero, never ending a live app at once). */
export async function revokeGrant(
  tx: Repos,
  config: Config,
  input: { userId: string; kind: string; actor: string },
  now = new Date(),
): Promise<GrantNotice> {
  const user = await tx.users.getForUpdate(input.userId);
  if (!user) throw new Error(`no user ${input.userId} for a refund`);
  if (input.kind === 'credits' || input.kind === 'extend') {
    const credits = Math.max(0, user.credits - (input.kind === 'credits' ? config.CREDITS_PER_PACK : 0));
    await tx.users.update(user.id, { credits });
    await tx.audit.write({
      actor: input.actor,
      action: 'refund.applied',
      subjectType: 'user',
      subjectId: user.id,
      data: { kind: input.kind, credits },
    });
    return {
      title: 'Refund received',
      text: `Your payment was refunded. You have ${credits} build credits.`,
    };
  }
  await tx.users.update(user.id, { plan: 'free', planExpiresAt: now, stripeSubscriptionId: null });
  await tx.audit.write({
    actor: input.actor,
    action: 'refund.applied',
    subjectType: 'user',
    subjectId: user.id,
    data: { kind: input.kind, plan: 'free' },
  });
  return {
    title: 'Refund received',
    text: 'Your payment was refunded and you are back on the free plan. Running apps keep their time.',
  };
}
