import type Stripe from 'stripe';
import type { Config } from '../config/index.js';
import type { ConversationRef, Platform } from '../core/platform.js';
import type { Button, ReplyView } from '../core/view.js';
import type { Repos, SessionRow, UserRow } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Queues } from '../queue/producer.js';
import type { LimitsPolicy, PlanLimits } from '../spawn/limits.js';
import { effectivePlan, PLAN_LABEL, type PlanName } from './plans.js';
import type { CheckoutLinks, PurchaseKind } from './signed-link.js';

/** A Checkout Session lives this long; Stripe allows 30 min to 24 h. */
export const CHECKOUT_EXPIRES_S = 60 * 60;

export type PaymentMethod = 'stripe' | 'stars';

export interface BillingDeps {
  config: Config;
  repos: Repos;
  queues: Queues;
  plans: Readonly<Record<PlanName, PlanLimits>>;
  links: CheckoutLinks;
  stripe?: Stripe;
  logger: Logger;
  now?: () => Date;
}

/**
 * Plans, prices and purchases. Stripe Checkout for Slack, Discord and the web chat; Telegram
 * Stars inside Telegram (the adapter sends the invoice; grants go through `applyGrant`).
 */
export class BillingService implements LimitsPolicy {
  private readonly now: () => Date;

  constructor(private readonly deps: BillingDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  get stripe(): Stripe | undefined {
    return this.deps.stripe;
  }

  get enabled(): boolean {
    return this.deps.stripe !== undefined || this.starsPrice('pro') !== undefined;
  }

  methodFor(platform: Platform): PaymentMethod | undefined {
    if (platform === 'telegram') return this.starsPrice('pro') !== undefined ? 'stars' : undefined;
    return this.deps.stripe ? 'stripe' : undefined;
  }

  /** The Stars price of a purchase, when Telegram Stars are configured for it. */
  starsPrice(kind: PurchaseKind): number | undefined {
    const c = this.deps.config;
    const value = {
      pro: c.TELEGRAM_STARS_PRO,
      team: c.TELEGRAM_STARS_TEAM,
      extend: c.TELEGRAM_STARS_EXTEND,
      credits: c.TELEGRAM_STARS_CREDITS,
    }[kind];
    return value ? Number(value) : undefined;
  }

  private stripePrice(kind: PurchaseKind): string | undefined {
    const c = this.deps.config;
    return {
      pro: c.STRIPE_PRICE_PRO,
      team: c.STRIPE_PRICE_TEAM,
      extend: c.STRIPE_PRICE_EXTEND,
      credits: c.STRIPE_PRICE_CREDITS,
    }[kind];
  }

  /** Whether this purchase can be offered on this platform. */
  offers(kind: PurchaseKind, platform: Platform): boolean {
    const method = this.methodFor(platform);
    if (method === 'stars') return this.starsPrice(kind) !== undefined;
    return method === 'stripe' && this.stripePrice(kind) !== undefined;
  }

  extendHours(): number {
    return this.deps.config.EXTEND_HOURS;
  }

  plans(): Readonly<Record<PlanName, PlanLimits>> {
    return this.deps.plans;
  }

  limitsFor(user: UserRow): PlanLimits {
    return this.deps.plans[effectivePlan(user, this.now())];
  }

  /**
   * Creates a Stripe Checkout Session and records it as a pending payment, so the webhook
   * grants it once and tells the conversation it came from. Returns the page to pay on.
   */
  async checkout(
    user: UserRow,
    kind: PurchaseKind,
    options: { sessionId?: string | undefined; conversation?: ConversationRef | undefined } = {},
  ): Promise<string> {
    const stripe = this.deps.stripe;
    const price = this.stripePrice(kind);
    if (!stripe || !price)
      throw new SpawnError('ERR_BILLING_OFF', `Buying ${kind} is not set up on this server.`);
    const { config, repos } = this.deps;
    const subscription = kind === 'pro' || kind === 'team';
    const metadata: Record<string, string> = {
      kind,
      user_id: user.id,
      ...(options.sessionId ? { session_id: options.sessionId } : {}),
    };
    const now = this.now();
    // A double click within a minute reuses the Checkout Session; once it is paid, the next
    // purchase of the same thing gets a new one (the count of paid purchases is in the key).
    const paid = (await repos.payments.listByUser(user.id)).filter(
      (p) => p.kind === kind && p.status !== 'pending',
    ).length;
    const idempotencyKey = `checkout-${user.id}-${kind}-${options.sessionId ?? ''}-${paid}-${Math.floor(now.getTime() / 60_000)}`;
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.create(
        {
          mode: subscription ? 'subscription' : 'payment',
          line_items: [{ price, quantity: 1 }],
          client_reference_id: user.id,
          metadata,
          ...(subscription ? { subscription_data: { metadata } } : { payment_intent_data: { metadata } }),
          ...(user.stripeCustomerId
            ? { customer: user.stripeCustomerId }
            : subscription
              ? {}
              : { customer_creation: 'always' as const }),
          success_url: `${config.PUBLIC_URL}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
          cancel_url: `${config.PUBLIC_URL}/billing/cancel`,
          expires_at: Math.floor(now.getTime() / 1000) + CHECKOUT_EXPIRES_S,
        },
        { idempotencyKey },
      );
    } catch (e) {
      this.deps.logger.error({ err: e instanceof Error ? e.message : String(e), kind }, 'checkout failed');
      throw new SpawnError('ERR_PAYMENT', 'The payment page could not be opened; try again in a minute.', {
        cause: e,
      });
    }
    if (!session.url) throw new SpawnError('ERR_PAYMENT', 'Stripe returned no payment page.');
    await repos.payments.insertOnce({
      userId: user.id,
      sessionId: options.sessionId ?? null,
      provider: 'stripe',
      kind,
      plan: subscription ? kind : null,
      stripeCheckoutSessionId: session.id,
      amount: session.amount_total ?? 0,
      currency: session.currency ?? 'usd',
      status: 'pending',
      conversation: options.conversation ?? null,
    });
    return session.url;
  }

  /** A Customer Portal page for subscribers; undefined for people without a Stripe customer. */
  async portal(user: UserRow): Promise<string | undefined> {
    const stripe = this.deps.stripe;
    if (!stripe || !user.stripeCustomerId) return undefined;
    try {
      const portal = await stripe.billingPortal.sessions.create({
        customer: user.stripeCustomerId,
        return_url: `${this.deps.config.PUBLIC_URL}/billing/return`,
      });
      return portal.url;
    } catch (e) {
      throw new SpawnError('ERR_PAYMENT', 'The billing page could not be opened; try again in a minute.', {
        cause: e,
      });
    }
  }

  /** A signed link that opens Checkout when clicked (for buttons on cards edited many times). */
  link(user: UserRow, kind: PurchaseKind, sessionId?: string): string {
    return this.deps.links.url({ userId: user.id, kind, ...(sessionId ? { sessionId } : {}) });
  }

  /** The Upgrade button of a status card: free-plan owners, where their platform can pay. */
  async upgradeButton(session: SessionRow): Promise<Button | undefined> {
    if (!this.offers('pro', session.platform)) return undefined;
    const user = await this.deps.repos.users.get(session.userId);
    if (!user || effectivePlan(user, this.now()) !== 'free') return undefined;
    if (this.methodFor(session.platform) === 'stars') {
      return {
        kind: 'action',
        label: `Upgrade to ${PLAN_LABEL.pro}`,
        action: 'upgrade',
        sessionId: session.id,
      };
    }
    return { kind: 'link', label: `Upgrade to ${PLAN_LABEL.pro}`, url: this.link(user, 'pro', session.id) };
  }

  /** Tells a conversation about a purchase (a new message; once per key). */
  async tell(conversation: ConversationRef | null | undefined, view: ReplyView, key: string): Promise<void> {
    if (!conversation) return;
    await this.deps.queues.enqueuePost({ kind: 'post', conversation, view }, `billing-${key}`);
  }
}
