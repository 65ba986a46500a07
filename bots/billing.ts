import { effectivePlan, PLAN_LABEL } from '../src/billing/plans.js';
import type { BillingService } from '../src/billing/service.js';
import type { PurchaseKind } from '../src/billing/signed-link.js';
import type { ConversationRef, Platform } from '../src/core/platform.js';
import type { Button, ReplyView } from '../src/core/view.js';
import type { SessionRow, UserRow } from '../src/db/repos/index.js';
import { type SpawnError, SpawnError as SpawnErrorClass } from '../src/errors.js';
import type { PlanLimits } from '../src/spawn/limits.js';
import { formatDuration } from './format.js';

export interface PurchaseContext {
  readonly user: UserRow;
  readonly platform: Platform;
  readonly conversation: ConversationRef;
  readonly session?: SessionRow;
}

function limitsLine(l: PlanLimits): string {
  return `${l.liveSessions} apps at once, ${l.buildsPerDay} builds a day, apps live ${formatDuration(l.ttlMinutes * 60_000)}`;
}

/**
 * Purchases in the conversation: what to offer, and how the person pays on their platform
 * (a Stripe Checkout link, or a Telegram Stars invoice started by an action button).
 */
export function createBillingConversation(billing: BillingService) {
  const plans = billing.plans();

  /** A button that buys `kind`: a real Checkout Session (`now`) or a signed link created on click. */
  async function buyButton(
    ctx: PurchaseContext,
    kind: PurchaseKind,
    label: string,
    now: boolean,
  ): Promise<Button | undefined> {
    if (!billing.offers(kind, ctx.platform)) return undefined;
    if (billing.methodFor(ctx.platform) === 'stars') {
      const stars = billing.starsPrice(kind);
      const action = kind === 'credits' ? 'buy' : kind === 'extend' ? 'pay-extend' : 'upgrade';
      return { kind: 'action', label: `${label} (${stars} ⭐)`, action, sessionId: ctx.session?.id ?? '' };
    }
    const url = now
      ? await billing.checkout(ctx.user, kind, { sessionId: ctx.session?.id, conversation: ctx.conversation })
      : billing.link(ctx.user, kind, ctx.session?.id);
    return { kind: 'link', label, url };
  }

  const compact = (buttons: (Button | undefined)[]): Button[] =>
    buttons.filter((b): b is Button => b !== undefined);

  return {
    async upgrade(ctx: PurchaseContext): Promise<ReplyView> {
      const current = effectivePlan(ctx.user);
      const buttons = compact([
        current === 'pro' ? undefined : await buyButton(ctx, 'pro', `Get ${PLAN_LABEL.pro}`, true),
        current === 'team' ? undefined : await buyButton(ctx, 'team', `Get ${PLAN_LABEL.team}`, false),
      ]);
      if (buttons.length === 0) return unavailable(ctx.platform, current);
      return {
        tone: 'info',
        title: 'Upgrade',
        text: [
          `You are on the ${PLAN_LABEL[current]} plan.`,
          `${PLAN_LABEL.pro}: ${limitsLine(plans.pro)}.`,
          `${PLAN_LABEL.team}: ${limitsLine(plans.team)}.`,
        ].join('\n'),
        buttons,
      };
    },

    async buy(ctx: PurchaseContext): Promise<ReplyView> {
      const button = await buyButton(ctx, 'credits', 'Buy build credits', true);
      if (!button) return unavailable(ctx.platform, effectivePlan(ctx.user));
      return {
        tone: 'info',
        title: 'Build credits',
        text: `A pack adds builds you can use when your daily builds run out. You have ${ctx.user.credits}.`,
        buttons: [button],
      };
    },

    async billingPage(ctx: PurchaseContext): Promise<ReplyView> {
      const plan = effectivePlan(ctx.user);
      const portal =
        billing.methodFor(ctx.platform) === 'stripe' ? await billing.portal(ctx.user) : undefined;
      const until =
        plan !== 'free' && ctx.user.planExpiresAt
          ? ` until ${ctx.user.planExpiresAt.toISOString().slice(0, 10)}`
          : '';
      return {
        tone: 'info',
        title: 'Billing',
        text: `You are on the ${PLAN_LABEL[plan]} plan${until}: ${limitsLine(plans[plan])}. Build credits: ${ctx.user.credits}.${portal ? '' : plan === 'free' ? ' Send /upgrade for more.' : ''}`,
        ...(portal ? { buttons: [{ kind: 'link' as const, label: 'Manage billing', url: portal }] } : {}),
        ephemeral: true,
      };
    },

    /** A paid extension of one app (when the plan's own extensions are used up). */
    async paidExtension(ctx: PurchaseContext & { session: SessionRow }): Promise<ReplyView | undefined> {
      const button = await buyButton(ctx, 'extend', `Extend by ${billing.extendHours()} h`, true);
      if (!button) return undefined;
      return {
        tone: 'info',
        title: 'Extend this app',
        text: `Add ${billing.extendHours()} hours to this app. It keeps running while you pay.`,
        buttons: [button],
        sessionId: ctx.session.id,
      };
    },

    /** A limit was reached: the error, and what can be bought about it. */
    async limitReached(ctx: PurchaseContext, error: SpawnError, base: ReplyView): Promise<ReplyView> {
      const offers: (Button | undefined)[] = [];
      const plan = effectivePlan(ctx.user);
      if (error.code === 'ERR_QUOTA_BUILDS')
        offers.push(await buyButton(ctx, 'credits', 'Buy build credits', true));
      if (plan === 'free')
        offers.push(
          await buyButton(ctx, 'pro', `Upgrade to ${PLAN_LABEL.pro}`, error.code !== 'ERR_QUOTA_BUILDS'),
        );
      else if (plan === 'pro')
        offers.push(await buyButton(ctx, 'team', `Upgrade to ${PLAN_LABEL.team}`, true));
      const buttons = compact(offers);
      return buttons.length > 0 ? { ...base, buttons, ephemeral: false } : base;
    },
  };
}

function unavailable(platform: Platform, plan: keyof typeof PLAN_LABEL): ReplyView {
  return {
    tone: 'info',
    title: 'Nothing to buy here',
    text:
      platform === 'telegram'
        ? `Payments in Telegram are not set up on this server. You are on the ${PLAN_LABEL[plan]} plan.`
        : `There is nothing more to buy: you are on the ${PLAN_LABEL[plan]} plan.`,
    ephemeral: true,
  };
}

/** Errors that a purchase can lift. */
export function isPurchasable(e: unknown): e is SpawnError {
  return (
    e instanceof SpawnErrorClass &&
    (e.code === 'ERR_QUOTA_LIVE' ||
      e.code === 'ERR_QUOTA_BUILDS' ||
      e.code === 'ERR_SPEND_CAP' ||
      e.code === 'ERR_PLAN_PROVIDER')
  );
}

export type BillingConversation = ReturnType<typeof createBillingConversation>;
