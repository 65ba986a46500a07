import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../client.js';
import { identities, linkCodes, payments, sessions, users } from '../schema.js';
import type { IdentityRow, UserRow } from './users.js';

export type LinkCodeRow = typeof linkCodes.$inferSelect;

/** A used or expired code is kept this long (for support questions), then pruned. */
const KEEP_OLD_CODES_MS = 24 * 60 * 60 * 1000;

/** What the merged account keeps of the two it is made from. */
export type MergedAccountPatch = Pick<
  UserRow,
  'plan' | 'planExpiresAt' | 'stripeCustomerId' | 'stripeSubscriptionId' | 'credits'
>;

/**
 * One account across platforms: link codes, merging an account into another and detaching an
 * identity. Meant to run inside one transaction (see AccountService).
 */
export class AccountsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Stores a new code for the account; its earlier unused codes stop working (one at a time),
   * and codes long dead are pruned on the way.
   */
  async issueCode(userId: string, codeHash: string, expiresAt: Date, now: Date): Promise<void> {
    await this.dropUnusedCodes(userId);
    await this.db
      .delete(linkCodes)
      .where(lt(linkCodes.expiresAt, new Date(now.getTime() - KEEP_OLD_CODES_MS)));
    await this.db.insert(linkCodes).values({ codeHash, userId, expiresAt });
  }

  /** The account's codes not used yet stop working. */
  async dropUnusedCodes(userId: string): Promise<void> {
    await this.db.delete(linkCodes).where(and(eq(linkCodes.userId, userId), isNull(linkCodes.usedAt)));
  }

  /**
   * Uses a code: one conditional update, so of two uses at once only one finds it unused.
   * Undefined for a code that is unknown, used or expired (the caller cannot tell which).
   */
  async consumeCode(codeHash: string, now: Date): Promise<LinkCodeRow | undefined> {
    const [row] = await this.db
      .update(linkCodes)
      .set({ usedAt: now })
      .where(and(eq(linkCodes.codeHash, codeHash), isNull(linkCodes.usedAt), gt(linkCodes.expiresAt, now)))
      .returning();
    return row;
  }

  async codesOf(userId: string): Promise<LinkCodeRow[]> {
    return this.db.select().from(linkCodes).where(eq(linkCodes.userId, userId));
  }

  /** Locks both accounts in a fixed order (two merges at once cannot deadlock). */
  async lockPair(a: string, b: string): Promise<[UserRow | undefined, UserRow | undefined]> {
    const [first, second] = a < b ? [a, b] : [b, a];
    const rows = await this.db
      .select()
      .from(users)
      .where(or(eq(users.id, first), eq(users.id, second)))
      .orderBy(users.id)
      .for('update');
    return [rows.find((r) => r.id === a), rows.find((r) => r.id === b)];
  }

  /**
   * Moves everything of `sourceId` (identities, apps, payments) to `targetId`, deletes the
   * source account and gives the target `patch`.
   */
  async merge(targetId: string, sourceId: string, patch: MergedAccountPatch): Promise<UserRow> {
    await this.db.update(identities).set({ userId: targetId }).where(eq(identities.userId, sourceId));
    await this.db
      .update(sessions)
      .set({ userId: targetId, updatedAt: new Date() })
      .where(eq(sessions.userId, sourceId));
    await this.db
      .update(payments)
      .set({ userId: targetId, updatedAt: new Date() })
      .where(eq(payments.userId, sourceId));
    // Deleted before the patch: the Stripe customer id is unique and may move with it.
    await this.db.delete(users).where(eq(users.id, sourceId));
    const [row] = await this.db
      .update(users)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(users.id, targetId))
      .returning();
    if (!row) throw new Error(`account ${targetId} vanished during a merge`);
    return row;
  }

  /** Gives one identity an account of its own (new, free, empty). */
  async detach(identity: IdentityRow): Promise<UserRow> {
    const [user] = await this.db.insert(users).values({ displayName: identity.displayName }).returning();
    if (!user) throw new Error('insert into users returned nothing');
    await this.db.update(identities).set({ userId: user.id }).where(eq(identities.id, identity.id));
    return user;
  }
}
