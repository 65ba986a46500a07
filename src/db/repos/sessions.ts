import { and, desc, eq, gte, inArray, isNotNull, lt, notInArray, sql } from 'drizzle-orm';
import type { ConversationRef, MessageRef, Platform } from '../../core/platform.js';
import {
  ACTIVE_SESSION_STATUSES,
  canTransition,
  isTerminal,
  type SessionStatus,
  TERMINAL_SESSION_STATUSES,
} from '../../core/status.js';
import { SpawnError } from '../../errors.js';
import type { Db } from '../client.js';
import { auditLog, sessions } from '../schema.js';

type RawSessionRow = typeof sessions.$inferSelect;

/** A session row with its JSON columns typed. */
export interface SessionRow
  extends Omit<RawSessionRow, 'conversation' | 'statusMessage' | 'status' | 'platform'> {
  platform: Platform;
  conversation: ConversationRef;
  statusMessage: MessageRef | null;
  status: SessionStatus;
}

export type NewSession = Omit<
  typeof sessions.$inferInsert,
  'conversation' | 'statusMessage' | 'status' | 'platform'
> & {
  platform: Platform;
  conversation: ConversationRef;
  statusMessage?: MessageRef | null;
};

/** Fields that may change without a status change. */
export type SessionPatch = Partial<
  Pick<
    SessionRow,
    | 'statusMessage'
    | 'conversation'
    | 'conversationKey'
    | 'title'
    | 'serviceId'
    | 'previewUrl'
    | 'expiresAt'
    | 'provider'
    | 'ttlMinutes'
  >
>;

export interface TransitionOptions {
  actor: string;
  reason?: string | null;
  patch?: SessionPatch;
  /**
   * The status the caller last saw. While the session still has it, the change and its audit
   * row are one statement (a worker moves every build's session this way); otherwise, or
   * without it, the row is locked and read first.
   */
  expected?: SessionStatus;
}

/** The columns a move to `to` writes, whichever way the move is made. */
function statusChange(to: SessionStatus, options: TransitionOptions, now: Date) {
  return {
    ...options.patch,
    status: to,
    statusReason: options.reason ?? null,
    updatedAt: now,
    ...(isTerminal(to) ? { endedAt: now } : {}),
  };
}

export interface TransitionResult {
  session: SessionRow;
  /** False when the session already had that status (a repeat, e.g. a retried job). */
  changed: boolean;
  from: SessionStatus;
}

const toRow = (r: RawSessionRow): SessionRow => r as SessionRow;

export class SessionsRepo {
  constructor(private readonly db: Db) {}

  async create(input: NewSession): Promise<SessionRow> {
    const [row] = await this.db
      .insert(sessions)
      .values({ ...input, status: 'queued' })
      .returning();
    if (!row) throw new Error('insert into sessions returned nothing');
    await this.db.insert(auditLog).values({
      actor: `user:${input.userId}`,
      action: 'session.created',
      subjectType: 'session',
      subjectId: row.id,
      data: { status: 'queued', provider: input.provider },
    });
    return toRow(row);
  }

  async get(id: string): Promise<SessionRow | undefined> {
    const [row] = await this.db.select().from(sessions).where(eq(sessions.id, id));
    return row && toRow(row);
  }

  /** The conversation's newest session that has not ended, if any. */
  async findActiveInConversation(conversationKey: string): Promise<SessionRow | undefined> {
    const [row] = await this.db
      .select()
      .from(sessions)
      .where(
        and(
          eq(sessions.conversationKey, conversationKey),
          inArray(sessions.status, [...ACTIVE_SESSION_STATUSES]),
        ),
      )
      .orderBy(desc(sessions.createdAt))
      .limit(1);
    return row && toRow(row);
  }

  /** The conversation's newest session, ended or not. */
  async findLatestInConversation(conversationKey: string): Promise<SessionRow | undefined> {
    const [row] = await this.db
      .select()
      .from(sessions)
      .where(eq(sessions.conversationKey, conversationKey))
      .orderBy(desc(sessions.createdAt))
      .limit(1);
    return row && toRow(row);
  }

  async listByUser(
    userId: string,
    options: { activeOnly?: boolean; limit?: number } = {},
  ): Promise<SessionRow[]> {
    const where = options.activeOnly
      ? and(eq(sessions.userId, userId), inArray(sessions.status, [...ACTIVE_SESSION_STATUSES]))
      : eq(sessions.userId, userId);
    const rows = await this.db
      .select()
      .from(sessions)
      .where(where)
      .orderBy(desc(sessions.createdAt))
      .limit(options.limit ?? 20);
    return rows.map(toRow);
  }

  async countActiveByUser(userId: string): Promise<number> {
    const rows = await this.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), inArray(sessions.status, [...ACTIVE_SESSION_STATUSES])));
    return rows.length;
  }

  async listByStatus(statuses: readonly SessionStatus[], limit = 500): Promise<SessionRow[]> {
    const rows = await this.db
      .select()
      .from(sessions)
      .where(inArray(sessions.status, [...statuses]))
      .orderBy(sessions.createdAt)
      .limit(limit);
    return rows.map(toRow);
  }

  /** Sessions that have not ended and whose time ran out before `now`. */
  async listExpired(now: Date, limit = 100): Promise<SessionRow[]> {
    const rows = await this.db
      .select()
      .from(sessions)
      .where(
        and(
          notInArray(sessions.status, [...TERMINAL_SESSION_STATUSES]),
          isNotNull(sessions.expiresAt),
          lt(sessions.expiresAt, now),
        ),
      )
      .orderBy(sessions.expiresAt)
      .limit(limit);
    return rows.map(toRow);
  }

  /** Live sessions per provider and platform (for metrics). */
  async countLive(): Promise<{ provider: string; platform: string; count: number }[]> {
    return this.db
      .select({ provider: sessions.provider, platform: sessions.platform, count: sql<number>`count(*)::int` })
      .from(sessions)
      .where(eq(sessions.status, 'live'))
      .groupBy(sessions.provider, sessions.platform);
  }

  /** Changes fields other than the status. */
  /** Live sessions that end before `before` and have not been told so for their current end. */
  async listEndingSoon(now: Date, before: Date, limit = 100): Promise<SessionRow[]> {
    const rows = await this.db
      .select()
      .from(sessions)
      .where(
        and(
          eq(sessions.status, 'live'),
          isNotNull(sessions.expiresAt),
          gte(sessions.expiresAt, now),
          lt(sessions.expiresAt, before),
          sql`${sessions.endingNoticeFor} is distinct from ${sessions.expiresAt}`,
        ),
      )
      .orderBy(sessions.expiresAt)
      .limit(limit);
    return rows.map(toRow);
  }

  /**
   * Claims the "ends soon" notice for the session's current end: true for exactly one caller,
   * however many workers sweep at once; false once claimed or when the end moved meanwhile.
   */
  async claimEndingNotice(id: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.db
      .update(sessions)
      .set({ endingNoticeFor: expiresAt })
      .where(
        and(
          eq(sessions.id, id),
          eq(sessions.expiresAt, expiresAt),
          sql`${sessions.endingNoticeFor} is distinct from ${sessions.expiresAt}`,
        ),
      )
      .returning({ id: sessions.id });
    return rows.length === 1;
  }

  async update(id: string, patch: SessionPatch): Promise<SessionRow | undefined> {
    const [row] = await this.db
      .update(sessions)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(sessions.id, id))
      .returning();
    return row && toRow(row);
  }

  /**
   * Moves a session forward, in one transaction with its audit row. Repeating the current
   * status is a no-op (`changed: false`); any other illegal change is refused with
   * ERR_SESSION_TRANSITION and changes nothing.
   */
  async transition(id: string, to: SessionStatus, options: TransitionOptions): Promise<TransitionResult> {
    const from = options.expected;
    if (from && canTransition(from, to)) {
      const moved = await this.compareAndSet(id, from, to, options);
      if (moved) return { session: moved, changed: true, from };
    }
    return this.db.transaction(async (tx) => {
      const [current] = await tx.select().from(sessions).where(eq(sessions.id, id)).for('update');
      if (!current) throw new SpawnError('ERR_SESSION_NOT_FOUND', `session ${id} does not exist`);
      const from = current.status as SessionStatus;
      if (from === to) return { session: toRow(current), changed: false, from };
      if (!canTransition(from, to)) {
        throw new SpawnError('ERR_SESSION_TRANSITION', `session ${id} cannot go from ${from} to ${to}`, {
          userMessage: isTerminal(from) ? `That app has already ${from}.` : undefined,
        });
      }
      const now = new Date();
      const [row] = await tx
        .update(sessions)
        .set(statusChange(to, options, now))
        .where(eq(sessions.id, id))
        .returning();
      await tx.insert(auditLog).values({
        actor: options.actor,
        action: 'session.status',
        subjectType: 'session',
        subjectId: id,
        data: { from, to, ...(options.reason ? { reason: options.reason } : {}) },
      });
      if (!row) throw new Error('update of sessions returned nothing');
      return { session: toRow(row), changed: true, from };
    });
  }

  /** `from → to` if the session is still `from`, with its audit row, in one statement. */
  private async compareAndSet(
    id: string,
    from: SessionStatus,
    to: SessionStatus,
    options: TransitionOptions,
  ): Promise<SessionRow | undefined> {
    const now = new Date();
    const data = { from, to, ...(options.reason ? { reason: options.reason } : {}) };
    const moved = this.db.$with('moved').as(
      this.db
        .update(sessions)
        .set(statusChange(to, options, now))
        .where(and(eq(sessions.id, id), eq(sessions.status, from)))
        .returning(),
    );
    // A data-modifying CTE runs whether or not the query reads it: the audit row commits with the change.
    const audit = this.db
      .$with('audit', { id: sql<number>`id` })
      .as(
        sql`insert into ${auditLog} (${sql.identifier(auditLog.actor.name)}, ${sql.identifier(auditLog.action.name)}, ${sql.identifier(auditLog.subjectType.name)}, ${sql.identifier(auditLog.subjectId.name)}, ${sql.identifier(auditLog.data.name)}) select ${options.actor}, 'session.status', 'session', ${sql.identifier('moved')}.${sql.identifier(sessions.id.name)}, ${JSON.stringify(data)}::jsonb from ${sql.identifier('moved')} returning ${sql.identifier(auditLog.id.name)}`,
      );
    const [row] = await this.db.with(moved, audit).select().from(moved);
    return row && toRow(row);
  }
}
