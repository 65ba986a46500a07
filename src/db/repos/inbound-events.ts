import { lt } from 'drizzle-orm';
import type { Db } from '../client.js';
import { inboundEvents } from '../schema.js';

export class InboundEventsRepo {
  constructor(private readonly db: Db) {}

  /** Records a delivery; `false` when the same platform event was seen before. */
  async record(platform: string, eventId: string): Promise<boolean> {
    const rows = await this.db
      .insert(inboundEvents)
      .values({ platform, eventId })
      .onConflictDoNothing()
      .returning({ id: inboundEvents.id });
    return rows.length > 0;
  }

  /** Forgets deliveries older than `before` (platforms stop retrying after hours or days). */
  async prune(before: Date): Promise<number> {
    const rows = await this.db
      .delete(inboundEvents)
      .where(lt(inboundEvents.receivedAt, before))
      .returning({ id: inboundEvents.id });
    return rows.length;
  }
}
