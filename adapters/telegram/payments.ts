import type { Api } from 'grammy';
import type { PreCheckoutQuery, SuccessfulPayment, User } from 'grammy/types';
import type { OwnerLookup } from '../../bots/owner.js';
import { applyGrant, type GrantNotice } from '../../src/billing/grants.js';
import { effectivePlan, PLAN_LABEL } from '../../src/billing/plans.js';
import type { BillingService } from '../../src/billing/service.js';
import type { PurchaseKind } from '../../src/billing/signed-link.js';
import type { Config } from '../../src/config/index.js';
import type { ConversationRef, PlatformUser } from '../../src/core/platform.js';
import { isTerminal } from '../../src/core/status.js';
import type { ReplyView } from '../../src/core/view.js';
import type { Repos } from '../../src/db/repos/index.js';
import { describeError, isSpawnError, SpawnError } from '../../src/errors.js';
import { retry } from '../../src/lib/retry.js';
import type { Logger } from '../../src/log.js';
import { HOUR_MS, withTimeout } from '../../src/util/time.js';
import { callTelegram } from './api.js';
import type { TelegramMessenger } from './messenger.js';
import { type InvoicePayloads, type StarsOrder, TELEGRAM_INVOICE_TTL_MS } from './payload.js';
import { clip } from './render.js';

/** Telegram cancels a purchase whose pre-checkout query is not answered within this. */
/** What Telegram reads and writes of the database: owners, and Stars purchases in one transaction. */
export type TelegramRepos = OwnerLookup & Pick<Repos, 'users' | 'sessions' | 'transaction'>;

export const TELEGRAM_PRE_CHECKOUT_DEADLINE_MS = 10_000;
/** Our own budget for checking an order, well inside Telegram's deadline (the answer still has to travel). */
export const PRE_CHECKOUT_CHECK_MS = 5_000;
/** What one Stars plan purchase buys. */
export const STARS_PLAN_DAYS = 30;
/** Attempts at granting a paid purchase when the database fails for a moment. */
const GRANT_ATTEMPTS = 3;
const GRANT_RETRY_MS = 500;

/** Posts a message now, or queues it when Telegram asks us to wait; `key` makes it once. */
export type Say = (conversation: ConversationRef, view: ReplyView, key: string) => Promise<void>;

export interface StarsDeps {
  billing: BillingService;
  repos: TelegramRepos;
  config: Pick<Config, 'CREDITS_PER_PACK' | 'EXTEND_HOURS'>;
  api: Api;
  messenger: TelegramMessenger;
  payloads: InvoicePayloads;
  say: Say;
  logger: Logger;
  now?: () => Date;
}

/** The outcome of a Buy/Upgrade/Extend press: shown to the person as a toast or an alert. */
export interface OfferOutcome {
  readonly ok: boolean;
  readonly message: string;
}

function hours(minutes: number): string {
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}

/**
 * Telegram Stars (XTR), as Telegram requires for digital services sold inside Telegram:
 * an invoice per purchase, every pre-checkout query checked and answered at once (in the
 * update handler, never through the queue), and the purchase granted only on
 * `successful_payment`, once per `telegram_payment_charge_id` (the payment row and the grant
 * are one transaction).
 */
export function createStarsPayments(deps: StarsDeps) {
  const { billing, repos, config, api, messenger, payloads, logger } = deps;
  const now = deps.now ?? (() => new Date());

  function price(kind: PurchaseKind): number | undefined {
    return billing.offers(kind, 'telegram') ? billing.starsPrice(kind) : undefined;
  }

  function describeOrder(kind: PurchaseKind, sessionTitle?: string): { title: string; description: string } {
    if (kind === 'pro' || kind === 'team') {
      const l = billing.plans()[kind];
      return {
        title: `SpawnAI ${PLAN_LABEL[kind]}, ${STARS_PLAN_DAYS} days`,
        description: `${PLAN_LABEL[kind]} for ${STARS_PLAN_DAYS} days: ${l.liveSessions} apps at once, ${l.buildsPerDay} builds a day, apps live ${hours(l.ttlMinutes)}.`,
      };
    }
    if (kind === 'credits') {
      return {
        title: 'SpawnAI build credits',
        description: `${config.CREDITS_PER_PACK} extra builds, used when your daily builds run out.`,
      };
    }
    return {
      title: 'Extend your app',
      description: `${billing.extendHours()} more hours for "${clip(sessionTitle ?? 'your app', 120)}".`,
    };
  }

  /** A Buy, Upgrade or paid Extend press: checks what can be sold to this person, sends the invoice. */
  async function offer(input: {
    conversation: ConversationRef;
    from: PlatformUser;
    kind: PurchaseKind;
    sessionId?: string | undefined;
  }): Promise<OfferOutcome> {
    const stars = price(input.kind);
    if (stars === undefined) return { ok: false, message: 'That purchase is not offered on this server.' };
    const { user } = await repos.users.upsertByIdentity({
      platform: 'telegram',
      teamId: '',
      platformUserId: input.from.id,
      displayName: input.from.name,
    });
    if (input.kind === 'pro' && effectivePlan(user, now()) === 'team') {
      return { ok: false, message: 'You are on Team already, which includes everything in Pro.' };
    }
    let sessionTitle: string | undefined;
    if (input.kind === 'extend') {
      const session = input.sessionId ? await repos.sessions.get(input.sessionId) : undefined;
      if (!session) return { ok: false, message: 'I cannot find that app.' };
      if (session.userId !== user.id)
        return { ok: false, message: new SpawnError('ERR_NOT_OWNER').userMessage };
      if (isTerminal(session.status))
        return { ok: false, message: `That app has already ${session.status}.` };
      sessionTitle = session.title || session.prompt;
    }
    const order: StarsOrder = {
      kind: input.kind,
      userId: user.id,
      ...(input.kind === 'extend' && input.sessionId ? { sessionId: input.sessionId } : {}),
      expiresAt: now().getTime() + TELEGRAM_INVOICE_TTL_MS,
    };
    const { title, description } = describeOrder(input.kind, sessionTitle);
    try {
      await messenger.sendInvoice(input.conversation, {
        title: clip(title, 32),
        description: clip(description, 255),
        payload: payloads.sign(order),
        label: clip(title, 32),
        stars,
      });
    } catch (e) {
      logger.warn({ err: describeError(e), kind: input.kind }, 'telegram invoice not sent');
      const busy = isSpawnError(e) && e.kind === 'rate_limited';
      return {
        ok: false,
        message: busy
          ? 'Telegram asks me to slow down; press the button again in a few seconds.'
          : 'The invoice could not be sent; try again in a minute.',
      };
    }
    return { ok: true, message: `Invoice sent: ${stars} ⭐. Pay it below.` };
  }

  /** Why this order must not be paid, or undefined when it may. Shown to the payer as is. */
  async function problemWith(query: PreCheckoutQuery): Promise<string | undefined> {
    const order = payloads.verify(query.invoice_payload);
    if (!order) return 'This invoice is not valid. Ask for a new one with /upgrade or /buy.';
    if (order.expiresAt < now().getTime())
      return 'This invoice has expired. Ask for a new one with /upgrade or /buy.';
    if (query.currency !== 'XTR') return 'Only Telegram Stars are accepted here.';
    const stars = price(order.kind);
    if (stars === undefined) return 'This purchase is no longer offered.';
    if (query.total_amount !== stars) return `The price is now ${stars} Stars. Ask for a new invoice.`;
    const identity = await repos.users.findIdentity('telegram', '', String(query.from.id));
    if (!identity || identity.userId !== order.userId) {
      return 'This invoice was made for someone else. Ask for your own with /upgrade or /buy.';
    }
    const user = await repos.users.get(order.userId);
    if (!user) return 'Your account could not be found. Send /start and ask again.';
    if (order.kind === 'pro' && effectivePlan(user, now()) === 'team') {
      return 'You are on Team already, which includes everything in Pro.';
    }
    if (order.kind === 'extend') {
      const session = order.sessionId ? await repos.sessions.get(order.sessionId) : undefined;
      if (!session || session.userId !== order.userId) return 'That app is not yours to extend.';
      if (isTerminal(session.status))
        return `That app has already ${session.status}, so there is nothing to extend.`;
    }
    return undefined;
  }

  /** Checks the order and answers the query at once (Telegram cancels after 10 s). */
  async function preCheckout(query: PreCheckoutQuery): Promise<void> {
    const started = Date.now();
    let problem: string | undefined;
    try {
      problem = await withTimeout(
        problemWith(query),
        PRE_CHECKOUT_CHECK_MS,
        () => new SpawnError('ERR_INTERNAL', 'the order check took too long'),
      );
    } catch (e) {
      logger.error({ err: describeError(e) }, 'telegram pre-checkout check failed');
      problem = 'This order could not be checked just now. Please try again in a minute.';
    }
    await callTelegram('answerPreCheckoutQuery', () =>
      api.answerPreCheckoutQuery(query.id, problem === undefined, problem ? { error_message: problem } : {}),
    );
    logger.info({ ok: problem === undefined, ms: Date.now() - started }, 'telegram pre-checkout answered');
  }

  async function grant(
    order: StarsOrder,
    payment: SuccessfulPayment,
    from: User,
    conversation: ConversationRef,
  ): Promise<GrantNotice | undefined> {
    return repos.transaction(async (tx) => {
      const at = now();
      const row = await tx.payments.insertOnce({
        userId: order.userId,
        sessionId: order.sessionId ?? null,
        provider: 'telegram',
        kind: order.kind,
        plan: order.kind === 'pro' || order.kind === 'team' ? order.kind : null,
        telegramChargeId: payment.telegram_payment_charge_id,
        amount: payment.total_amount,
        currency: payment.currency,
        status: 'paid',
        grantedAt: at,
        conversation,
      });
      if (!row) return undefined; // the same charge again: granted before
      let planUntil: Date | undefined;
      if (order.kind === 'pro' || order.kind === 'team') {
        // A renewal of the same plan adds to the time left; anything else starts now.
        const user = await tx.users.getForUpdate(order.userId);
        const current =
          user && effectivePlan(user, at) === order.kind && user.planExpiresAt
            ? user.planExpiresAt.getTime()
            : at.getTime();
        planUntil = new Date(Math.max(current, at.getTime()) + STARS_PLAN_DAYS * 24 * HOUR_MS);
      }
      return applyGrant(
        tx,
        config,
        {
          userId: order.userId,
          kind: order.kind,
          sessionId: order.sessionId ?? null,
          ...(planUntil ? { planUntil } : {}),
          actor: `telegram:${from.id}`,
        },
        at,
      );
    });
  }

  async function refund(from: User, chargeId: string): Promise<boolean> {
    try {
      await callTelegram('refundStarPayment', () => api.refundStarPayment(from.id, chargeId));
      return true;
    } catch (e) {
      logger.error({ err: describeError(e), chargeId }, 'telegram refund failed');
      return false;
    }
  }

  /** Grants a paid purchase, once per charge id however often the payment is reported. */
  async function successfulPayment(
    payment: SuccessfulPayment,
    from: User,
    conversation: ConversationRef,
  ): Promise<void> {
    const chargeId = payment.telegram_payment_charge_id;
    const order = payloads.verify(payment.invoice_payload);
    if (!order || payment.currency !== 'XTR') {
      // Not an invoice of ours: nothing to grant, so the Stars go back.
      logger.error({ chargeId }, 'telegram payment for an unknown order; refunding');
      const refunded = await refund(from, chargeId);
      await deps.say(
        conversation,
        {
          tone: 'error',
          title: 'Payment not recognised',
          text: refunded
            ? 'I could not match this payment to an order, so it was refunded.'
            : `I could not match this payment to an order. Please contact support with payment id ${chargeId}.`,
        },
        `paid-${chargeId}`,
      );
      return;
    }
    let notice: GrantNotice | undefined;
    try {
      notice = await retry(() => grant(order, payment, from, conversation), {
        attempts: GRANT_ATTEMPTS,
        // The Stars are paid already: any failure to apply them is worth another try.
        delay: (_e, attempt) => GRANT_RETRY_MS * attempt,
      });
    } catch (e) {
      logger.error({ err: describeError(e), chargeId, kind: order.kind }, 'telegram purchase not granted');
      await deps.say(
        conversation,
        {
          tone: 'error',
          title: 'Payment received',
          text: `Your payment arrived but could not be applied yet. Please contact support with payment id ${chargeId}.`,
        },
        `paid-${chargeId}`,
      );
      return;
    }
    if (!notice) {
      logger.info({ chargeId }, 'telegram payment reported again; already granted');
      return;
    }
    logger.info({ chargeId, kind: order.kind, userId: order.userId }, 'telegram purchase granted');
    await deps.say(
      conversation,
      {
        tone: 'success',
        title: notice.title,
        text: notice.text,
        ...(notice.sessionId ? { sessionId: notice.sessionId } : {}),
      },
      `paid-${chargeId}`,
    );
  }

  return { offer, preCheckout, successfulPayment };
}

export type StarsPayments = ReturnType<typeof createStarsPayments>;
