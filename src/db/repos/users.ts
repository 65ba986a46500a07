import { and, eq } from 'drizzle-orm';
import type { Platform } from '../../core/platform.js';
import type { Db } from '../client.js';
import { identities, users } from '../schema.js';

export type UserRow = typeof users.$inferSelect;
export type IdentityRow = typeof identities.$inferSelect;

export interface IdentityInput {
  platform: Platform;
  teamId: string;
  platformUserId: string;
  displayName: string;
}

export class UsersRepo {
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id));
    return row;
  }

  /** Locks the user row until the surrounding transaction ends (serialises quota checks). */
  async getForUpdate(id: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id)).for('update');
    return row;
  }

  async update(id: string, patch: Partial<Omit<UserRow, 'id' | 'createdAt'>>): Promise<UserRow | undefined> {
    const [row] = await this.db
      .update(users)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(users.id, id))
      .returning();
    return row;
  }

  async findByStripeCustomer(customerId: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.stripeCustomerId, customerId));
    return row;
  }

  async findIdentity(
    platform: Platform,
    teamId: string,
    platformUserId: string,
  ): Promise<IdentityRow | undefined> {
    const [row] = await this.db
      .select()
      .from(identities)
      .where(
        and(
          eq(identities.platform, platform),
          eq(identities.teamId, teamId),
          eq(identities.platformUserId, platformUserId),
        ),
      );
    return row;
  }

  async identitiesOf(userId: string): Promise<IdentityRow[]> {
    return this.db.select().from(identities).where(eq(identities.userId, userId));
  }

  /**
   * The user behind a platform identity, created on first sight. Safe under concurrency:
   * two first messages at once end with one user and one identity.
   */
  async upsertByIdentity(
    input: IdentityInput,
  ): Promise<{ user: UserRow; identity: IdentityRow; created: boolean }> {
    const existing = await this.findIdentity(input.platform, input.teamId, input.platformUserId);
    if (existing) {
      const user = await this.get(existing.userId);
      if (user) {
        if (input.displayName && input.displayName !== existing.displayName) {
          await this.db
            .update(identities)
            .set({ displayName: input.displayName, lastSeenAt: new Date() })
            .where(eq(identities.id, existing.id));
        }
        return { user, identity: existing, created: false };
      }
    }
    const [user] = await this.db.insert(users).values({ displayName: input.displayName }).returning();
    if (!user) throw new Error('insert into users returned nothing');
    const [identity] = await this.db
      .insert(identities)
      .values({
        userId: user.id,
        platform: input.platform,
        teamId: input.teamId,
        platformUserId: input.platformUserId,
        displayName: input.displayName,
      })
      .onConflictDoNothing()
      .returning();
    if (identity) return { user, identity, created: true };
    // Lost a race with a concurrent first message: use the winner's user.
    await this.db.delete(users).where(eq(users.id, user.id));
    const winner = await this.findIdentity(input.platform, input.teamId, input.platformUserId);
    const winnerUser = winner && (await this.get(winner.userId));
    if (!winner || !winnerUser) throw new Error('identity vanished during upsert');
    return { user: winnerUser, identity: winner, created: false };
  }
}
