import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { auditLog } from '../schema.js';

export type AuditRow = typeof auditLog.$inferSelect;

export interface AuditEntry {
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  data?: Record<string, unknown>;
}

export class AuditRepo {
  constructor(private readonly db: Db) {}

  async write(entry: AuditEntry): Promise<void> {
    await this.db.insert(auditLog).values({ ...entry, data: entry.data ?? {} });
  }

  async listFor(subjectType: string, subjectId: string): Promise<AuditRow[]> {
    return this.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.subjectType, subjectType), eq(auditLog.subjectId, subjectId)))
      .orderBy(asc(auditLog.id));
  }
}
