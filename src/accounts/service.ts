import { createHash, randomInt } from 'node:crypto';
import { effectivePlan } from '../billing/plans.js';
import type { Platform, PlatformUser } from '../core/platform.js';
import type { IdentityRow, MergedAccountPatch, Repos, UserRow } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { RateDecision } from '../lib/rate-limiter.js';
import type { Logger } from '../log.js';
import { MINUTE_MS } from '../util/time.js';

/** No 0/O or 1/I/L look-alikes: 31 symbols, so 8 of them are about 40 bits. */
export const LINK_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const LINK_CODE_LENGTH = 8;
export const LINK_CODE_TTL_MS = 10 * MINUTE_MS;

export interface AttemptLimit {
  readonly max: number;
  readonly windowMs: number;
}

/**
 * Codes one identity may try: with 31^8 codes, a few guesses an hour per identity find nothing.
 * The overall limit bounds guessing by many identities at once (web chat identities are cheap)
 * far above what people linking their accounts ever send.
 */
export const LINK_ATTEMPTS_PER_IDENTITY: AttemptLimit = { max: 5, windowMs: 15 * MINUTE_MS };
export const LINK_ATTEMPTS_OVERALL: AttemptLimit = { max: 300, windowMs: MINUTE_MS };

/** Who is asking, as their platform knows them (the same shape as a spawn Requester). */
export interface AccountHolder {
  readonly platform: Platform;
  readonly teamId: string;
  readonly user: PlatformUser;
}

export interface AttemptLimiter {
  hit(key: string, max: number, windowMs: number, now?: number): Promise<RateDecision>;
}

export interface AccountServiceDeps {
  repos: Repos;
  logger: Logger;
  /** Counts code attempts; without one, attempts are not limited (tests of other things). */
  limiter?: AttemptLimiter;
  perIdentity?: AttemptLimit;
  overall?: AttemptLimit;
  now?: () => Date;
}

export interface IssuedCode {
  /** As shown to the person: `ABCD-EFGH`. */
  readonly code: string;
  readonly expiresAt: Date;
  /** The account's identities now (the platforms already linked). */
  readonly identities: readonly IdentityRow[];
}

export type RedeemOutcome =
  | { readonly kind: 'linked'; readonly user: UserRow; readonly identities: readonly IdentityRow[] }
  /** Unknown, used or expired: never which. */
  | { readonly kind: 'invalid' }
  /** The code is this account's own. */
  | { readonly kind: 'already'; readonly identities: readonly IdentityRow[] }
  /** Both accounts pay for a plan: merging would leave one subscription paying for nothing. */
  | { readonly kind: 'both-paid' };

export type UnlinkOutcome =
  | { readonly kind: 'unlinked'; readonly user: UserRow; readonly remaining: readonly IdentityRow[] }
  | { readonly kind: 'alone' };

/** A typed code in any case, with or without its dash or spaces; undefined when it cannot be one. */
export function normaliseCode(typed: string): string | undefined {
  const code = typed.replace(/[\s-]/g, '').toUpperCase();
  if (code.length !== LINK_CODE_LENGTH) return undefined;
  for (const c of code) if (!LINK_CODE_ALPHABET.includes(c)) return undefined;
  return code;
}

export function formatCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** Only this is stored: a database reader cannot use a live code. */
export function hashCode(code: string): string {
  return createHash('sha256').update(`spawnai-link:${code}`).digest('hex');
}

function newCode(): string {
  let code = '';
  for (let i = 0; i < LINK_CODE_LENGTH; i++) code += LINK_CODE_ALPHABET[randomInt(LINK_CODE_ALPHABET.length)];
  return code;
}

function pays(user: UserRow, now: Date): boolean {
  return effectivePlan(user, now) !== 'free' || user.stripeSubscriptionId !== null;
}

/**
 * What one account made of two keeps: the paid plan of whichever has one (with its Stripe
 * subscription and customer, so later Stripe events find it), the credits of both. Both paying
 * is refused: one subscription would go on charging for an account that no longer exists.
 */
export function mergedAccount(target: UserRow, source: UserRow, now: Date): MergedAccountPatch | 'both-paid' {
  const targetPays = pays(target, now);
  const sourcePays = pays(source, now);
  if (targetPays && sourcePays) return 'both-paid';
  const [keep, other] = sourcePays ? [source, target] : [target, source];
  return {
    plan: keep.plan,
    planExpiresAt: keep.planExpiresAt,
    stripeSubscriptionId: keep.stripeSubscriptionId,
    stripeCustomerId: keep.stripeCustomerId ?? other.stripeCustomerId,
    credits: target.credits + source.credits,
  };
}

class BothPaid extends Error {}

/**
 * One account across platforms. `link` gives a one-time code; the code sent from another
 * identity merges that identity's account into the code's account (identities, apps, payments,
 * credits, the better plan). `unlink` gives the current identity a new account of its own.
 */
export class AccountService {
  private readonly now: () => Date;
  private readonly perIdentity: AttemptLimit;
  private readonly overall: AttemptLimit;

  constructor(private readonly deps: AccountServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.perIdentity = deps.perIdentity ?? LINK_ATTEMPTS_PER_IDENTITY;
    this.overall = deps.overall ?? LINK_ATTEMPTS_OVERALL;
  }

  private identityOf(who: AccountHolder) {
    return {
      platform: who.platform,
      teamId: who.teamId,
      platformUserId: who.user.id,
      displayName: who.user.name,
    };
  }

  /** A new code for the account (its earlier unused one stops working). */
  async issue(who: AccountHolder): Promise<IssuedCode> {
    const code = newCode();
    const now = this.now();
    const expiresAt = new Date(now.getTime() + LINK_CODE_TTL_MS);
    return this.deps.repos.transaction(async (tx) => {
      const { user } = await tx.users.upsertByIdentity(this.identityOf(who));
      await tx.accounts.issueCode(user.id, hashCode(code), expiresAt, now);
      return { code: formatCode(code), expiresAt, identities: await tx.users.identitiesOf(user.id) };
    });
  }

  /**
   * Counts an attempt of this identity (and of everyone) before the code is looked at.
   * @throws SpawnError `ERR_RATE_LIMITED` with the wait.
   */
  private async countAttempt(who: AccountHolder): Promise<void> {
    const limiter = this.deps.limiter;
    if (!limiter) return;
    const at = this.now().getTime();
    const mine = await limiter.hit(
      `link:${who.platform}:${who.teamId}:${who.user.id}`,
      this.perIdentity.max,
      this.perIdentity.windowMs,
      at,
    );
    const decision = mine.allowed
      ? await limiter.hit('link:all', this.overall.max, this.overall.windowMs, at)
      : mine;
    if (decision.allowed) return;
    const minutes = Math.max(1, Math.ceil(decision.retryAfterMs / MINUTE_MS));
    throw new SpawnError(
      'ERR_RATE_LIMITED',
      `Too many link codes tried; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      { retryAfterMs: decision.retryAfterMs },
    );
  }

  /**
   * Uses a code from this identity: its account joins the code's account. A wrong, used or
   * expired code changes nothing and says nothing about anyone.
   *
   * @throws SpawnError `ERR_RATE_LIMITED` over the attempt limits.
   */
  async redeem(who: AccountHolder, typed: string): Promise<RedeemOutcome> {
    await this.countAttempt(who);
    const code = normaliseCode(typed);
    if (!code) return { kind: 'invalid' };
    const now = this.now();
    try {
      return await this.deps.repos.transaction(async (tx): Promise<RedeemOutcome> => {
        const { user, identity } = await tx.users.upsertByIdentity(this.identityOf(who));
        const used = await tx.accounts.consumeCode(hashCode(code), now);
        if (!used) return { kind: 'invalid' };
        if (used.userId === user.id) {
          return { kind: 'already', identities: await tx.users.identitiesOf(user.id) };
        }
        const [target, source] = await tx.accounts.lockPair(used.userId, user.id);
        // The asker's account was merged elsewhere a moment ago: rolled back, the code unused.
        if (!target || !source) throw new Error('an account changed while linking; try again');
        const patch = mergedAccount(target, source, now);
        if (patch === 'both-paid') throw new BothPaid();
        const merged = await tx.accounts.merge(target.id, source.id, patch);
        await tx.audit.write({
          actor: `user:${target.id}`,
          action: 'account.linked',
          subjectType: 'user',
          subjectId: target.id,
          data: { merged: source.id, identity: identity.id, platform: who.platform, plan: merged.plan },
        });
        this.deps.logger.info(
          { userId: target.id, merged: source.id, platform: who.platform },
          'accounts linked',
        );
        return { kind: 'linked', user: merged, identities: await tx.users.identitiesOf(target.id) };
      });
    } catch (e) {
      if (e instanceof BothPaid) return { kind: 'both-paid' };
      throw e;
    }
  }

  /**
   * This identity leaves its account for a new, free one. The apps, plan, credits and payments
   * stay with the account (they were the account's, whichever platform started them).
   */
  async unlink(who: AccountHolder): Promise<UnlinkOutcome> {
    return this.deps.repos.transaction(async (tx): Promise<UnlinkOutcome> => {
      const { user, identity } = await tx.users.upsertByIdentity(this.identityOf(who));
      // Serialises with links and unlinks of the same account.
      await tx.users.getForUpdate(user.id);
      const all = await tx.users.identitiesOf(user.id);
      if (all.length <= 1) return { kind: 'alone' };
      // A code given out before must not join someone to an account this identity has left.
      await tx.accounts.dropUnusedCodes(user.id);
      const fresh = await tx.accounts.detach(identity);
      await tx.audit.write({
        actor: `user:${user.id}`,
        action: 'account.unlinked',
        subjectType: 'user',
        subjectId: user.id,
        data: { identity: identity.id, platform: who.platform, newUser: fresh.id },
      });
      return { kind: 'unlinked', user: fresh, remaining: all.filter((i) => i.id !== identity.id) };
    });
  }
}
