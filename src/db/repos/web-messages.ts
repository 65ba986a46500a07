import { desc, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { webMessages } from '../schema.js';

export type WebMessageRow = typeof webMessages.$inferSelect;

export class WebMessagesRepo {
  constructor(private readonly db: Db) {}

  async upsert(row: {
    id: string;
    conversationId: string;
    role: 'user' | 'bot';
    view: unknown;
  }): Promise<{ createdAt: Date; updatedAt: Date }> {
    // One statement: the stored times come back with the write, not from a second read.
    const [stored] = await this.db
      .insert(webMessages)
      .values(row)
      .onConflictDoUpdate({ target: webMessages.id, set: { view: row.view, updatedAt: new Date() } })
      .returning({ createdAt: webMessages.createdAt, updatedAt: webMessages.updatedAt });
    return stored!;
  }

  async get(id: string): Promise<WebMessageRow | undefined> {
    const [row] = await this.db.select().from(webMessages).where(eq(webMessages.id, id));
    return row;
  }

  /** The newest `limit` messages of a conversation, oldest first. */
  async list(conversationId: string, limit = 100): Promise<WebMessageRow[]> {
    const rows = await this.db
      .select()
      .from(webMessages)
      .where(eq(webMessages.conversationId, conversationId))
      .orderBy(desc(webMessages.createdAt), desc(webMessages.id))
      .limit(limit);
    return rows.reverse();
  }
}
