import { eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { slackInstallations } from '../schema.js';

/** A Slack workspace that installed the app; the bot token is stored sealed (never in plain text). */
export type SlackInstallationRow = typeof slackInstallations.$inferSelect;

export type NewSlackInstallation = Omit<typeof slackInstallations.$inferInsert, 'createdAt' | 'updatedAt'>;

export class SlackInstallationsRepo {
  constructor(private readonly db: Db) {}

  /** Inserts the installation, or replaces the one of the same workspace (a reinstall). */
  async upsert(row: NewSlackInstallation): Promise<SlackInstallationRow> {
    const { id: _id, ...rest } = row;
    const [saved] = await this.db
      .insert(slackInstallations)
      .values(row)
      .onConflictDoUpdate({ target: slackInstallations.id, set: { ...rest, updatedAt: new Date() } })
      .returning();
    return saved!;
  }

  async get(id: string): Promise<SlackInstallationRow | undefined> {
    const [row] = await this.db.select().from(slackInstallations).where(eq(slackInstallations.id, id));
    return row;
  }

  /** Forgets a workspace (the app was uninstalled there); `false` when it was not installed. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.db
      .delete(slackInstallations)
      .where(eq(slackInstallations.id, id))
      .returning({ id: slackInstallations.id });
    return rows.length > 0;
  }

  async list(): Promise<SlackInstallationRow[]> {
    return this.db.select().from(slackInstallations).orderBy(slackInstallations.createdAt);
  }
}
