import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { Config } from '../config/index.js';
import type { ConversationRef, Platform } from '../core/platform.js';
import type { Button, ReplyView } from '../core/view.js';
import type { Repos, SessionRow, UserRow } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { Logger } from '../log.js';
import type { Queues } from '../queue/producer.js';
import type { LimitsPolicy, PlanLimits } from '../spawn/limits.js';
import { HOUR_MS } from '../util/time.js';
import { effectivePlan, PLAN_LABEL, type PlanName } from './plans.js';
import type { CheckoutLinks, PurchaseKind } from './signed-link.js';

/** A Checkout Session lives about this long; Stripe allows 30 min to 24 h. */
export const CHECKOUT_EXPIRES_S = 60 * 60;
/**
 * Requests for the same purchase within one window send the same parameters (its `expires_at` is
 * the window's start + CHECKOUT_EXPIRES_S, 50 to 60 minutes ahead) under the same idempotency key,
 * so Stripe answers every one of them with the same Checkout Session.
 */
export const CHECKOUT_KEY_WINDOW_S = 10 * 60;
/** An open Checkout Session is offered again while it has at least this long left. */
export const CHECKOUT_REUSE_MIN_LEFT_S = 10 * 60;

export type PaymentMethod = 'stripe' | 'stars';

export interface BillingDeps {
  config: Config;
  repos: Repos;
  queues: Queues;
  plans: Readonly<Record<PlanName, PlanLimits>>;
  links: CheckoutLinks;
  stripe?: Stripe;
  logger: Logger;
  /** Counts the Checkout Sessions each person opens (CHECKOUT_SESSIONS_PER_HOUR); none: no limit. */
  limiter?: RateLimiter;
  now?: () => Date;
}

type CheckoutOptions = { sessionId?: string | undefined; conversation?: ConversationRef | undefined };

/**
 * Plans, prices and purchases. Stripe Checkout for Slack, Discord and the web chat; Telegram
 * Stars inside Telegram (the adapter sends the invoice; grants go through `applyGrant`).
 */
export class BillingService implements LimitsPolicy {
  private readonly now: () => Date;
  /** Checkouts being opened in this process, by person and purchase: a burst of presses shares one. */
  private readonly opening = new Map<string, Promise<string>>();

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
   * The payment page of a purchase: the person's open Checkout Session for the same purchase
   * when there is one, else a new one recorded as a pending payment (the order), so the webhook
   * grants it once and tells the conversation it came from. Presses at once share one request;
   * a person may open `CHECKOUT_SESSIONS_PER_HOUR` new sessions an hour.
   *
   * @throws SpawnError `ERR_BILLING_OFF`, `ERR_RATE_LIMITED` (with the wait), `ERR_PAYMENT`.
   */
  async checkout(user: UserRow, kind: PurchaseKind, options: CheckoutOptions = {}): Promise<string> {
    const stripe = this.deps.stripe;
    const price = this.stripePrice(kind);
    if (!stripe || !price)
      throw new SpawnError('ERR_BILLING_OFF', `Buying ${kind} is not set up on this server.`);
    const key = `${user.id}:${kind}:${options.sessionId ?? ''}`;
    const running = this.opening.get(key);
    if (running) return running;
    const opening = this.openCheckout(stripe, price, user, kind, options).finally(() => {
      this.opening.delete(key);
    });
    this.opening.set(key, opening);
    return opening;
  }

  /**
   * The person's orders of this purchase (newest first), and the page of the newest one when its
   * Checkout Session is still open with time left (asked of Stripe itself; one found expired is
   * marked so).
   */
  private async ordersOf(
    stripe: Stripe,
    user: UserRow,
    kind: PurchaseKind,
    sessionId: string | undefined,
  ): Promise<{ count: number; openUrl: string | undefined }> {
    const nowMs = this.now().getTime();
    const orders = (await this.deps.repos.payments.listByUser(user.id)).filter(
      (p) => p.provider === 'stripe' && p.kind === kind && (p.sessionId ?? undefined) === sessionId,
    );
    const newest = orders[0];
    const recent =
      newest?.status === 'pending' &&
      newest.stripeCheckoutSessionId !== null &&
      nowMs - newest.createdAt.getTime() < (CHECKOUT_EXPIRES_S - CHECKOUT_REUSE_MIN_LEFT_S) * 1000;
    if (!recent || !newest.stripeCheckoutSessionId) return { count: orders.length, openUrl: undefined };
    try {
      const open = await stripe.checkout.sessions.retrieve(newest.stripeCheckoutSessionId);
      if (open.status === 'expired') await this.deps.repos.payments.update(newest.id, { status: 'expired' });
      const left = (open.expires_at ?? 0) - nowMs / 1000;
      const usable = open.status === 'open' && open.url && left >= CHECKOUT_REUSE_MIN_LEFT_S;
      return { count: orders.length, openUrl: usable ? (open.url ?? undefined) : undefined };
    } catch (e) {
      this.deps.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'checkout lookup failed');
      return { count: orders.length, openUrl: undefined };
    }
  }

  private async openCheckout(
    stripe: Stripe,
    price: string,
    user: UserRow,
    kind: PurchaseKind,
    options: CheckoutOptions,
  ): Promise<string> {
    const { config, repos, limiter } = this.deps;
    const orders = await this.ordersOf(stripe, user, kind, options.sessionId);
    if (orders.openUrl) return orders.openUrl;
    const now = this.now();
    if (limiter) {
      const max = config.CHECKOUT_SESSIONS_PER_HOUR;
      const decision = await limiter.hit(`checkout:${user.id}`, max, HOUR_MS, now.getTime());
      if (!decision.allowed) {
        const minutes = Math.max(1, Math.ceil(decision.retryAfterMs / 60_000));
        throw new SpawnError(
          'ERR_RATE_LIMITED',
          `You opened ${max} payment pages in the last hour; use one of them, or try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
          { retryAfterMs: decision.retryAfterMs },
        );
      }
    }
    const subscription = kind === 'pro' || kind === 'team';
    const metadata: Record<string, string> = {
      kind,
      user_id: user.id,
      ...(options.sessionId ? { session_id: options.sessionId } : {}),
    };
    const windowStart = Math.floor(now.getTime() / 1000 / CHECKOUT_KEY_WINDOW_S) * CHECKOUT_KEY_WINDOW_S;
    const params: Stripe.Checkout.SessionCreateParams = {
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
      expires_at: windowStart + CHECKOUT_EXPIRES_S,
    };
    // Stripe refuses a key reused with other parameters, so the key is made from them, and from
    // the orders of this purchase so far: after one was paid or expired, the next is a new page.
    const idempotencyKey = `checkout-${createHash('sha256')
      .update(JSON.stringify({ params, orders: orders.count }))
      .digest('hex')
      .slice(0, 48)}`;
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.create(params, { idempotencyKey });
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
