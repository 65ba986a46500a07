import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, type SQL, sql } from 'drizzle-orm';
import type { MessageRef } from '../../core/platform.js';
import type { BuildStatus } from '../../core/status.js';
import type { Db } from '../client.js';
import { builds, sessions } from '../schema.js';

type RawBuildRow = typeof builds.$inferSelect;

export interface FileEntry {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Finding {
  rule: string;
  path: string;
  line?: number;
  excerpt?: string;
}

export interface BuildRow extends Omit<RawBuildRow, 'status' | 'files' | 'findings' | 'statusMessage'> {
  status: BuildStatus;
  statusMessage: MessageRef | null;
  files: FileEntry[];
  findings: Finding[];
}

export type NewBuild = Omit<typeof builds.$inferInsert, 'status' | 'files' | 'findings' | 'statusMessage'>;
export type BuildPatch = Partial<
  Omit<BuildRow, 'id' | 'sessionId' | 'iteration' | 'requestKey' | 'createdAt' | 'version'>
>;

const toRow = (r: RawBuildRow): BuildRow => r as BuildRow;
const UNFINISHED: BuildStatus[] = ['queued', 'building', 'deploying'];

/**
 * Builds of a user's sessions, found from the user's sessions (sessions_user_status_idx) and
 * their builds (builds_session_iteration_uq) whatever the planner's statistics say. As a join,
 * a table the planner believed small (never analyzed: autovacuum off, PGlite, a fresh burst) was
 * read whole on every message, and a backlog of 40,000 messages drained at 20 a second.
 */
function ofUser(userId: string): SQL {
  return sql`${builds.sessionId} = any(array(select ${sessions.id} from ${sessions} where ${sessions.userId} = ${userId}))`;
}

export class BuildsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Inserts a build; undefined when a build for the same request exists already. No conflict
   * target: a concurrent twin may hit the (session, iteration) index before the request-key
   * one, and with a target Postgres would raise that conflict instead of skipping it.
   */
  async createOnce(input: NewBuild): Promise<BuildRow | undefined> {
    const [row] = await this.db
      .insert(builds)
      .values({ ...input, status: 'queued' })
      .onConflictDoNothing()
      .returning();
    return row && toRow(row);
  }

  async get(id: string): Promise<BuildRow | undefined> {
    const [row] = await this.db.select().from(builds).where(eq(builds.id, id));
    return row && toRow(row);
  }

  async getByRequestKey(requestKey: string): Promise<BuildRow | undefined> {
    const [row] = await this.db.select().from(builds).where(eq(builds.requestKey, requestKey));
    return row && toRow(row);
  }

  async listForSession(sessionId: string): Promise<BuildRow[]> {
    const rows = await this.db
      .select()
      .from(builds)
      .where(eq(builds.sessionId, sessionId))
      .orderBy(asc(builds.iteration));
    return rows.map(toRow);
  }

  async latestForSession(sessionId: string): Promise<BuildRow | undefined> {
    const [row] = await this.db
      .select()
      .from(builds)
      .where(eq(builds.sessionId, sessionId))
      .orderBy(desc(builds.iteration))
      .limit(1);
    return row && toRow(row);
  }

  /** The newest build of a session that went live; its files are the input of the next iteration. */
  async latestSucceeded(sessionId: string): Promise<BuildRow | undefined> {
    const [row] = await this.db
      .select()
      .from(builds)
      .where(and(eq(builds.sessionId, sessionId), eq(builds.status, 'succeeded')))
      .orderBy(desc(builds.iteration))
      .limit(1);
    return row && toRow(row);
  }

  /** The session's versions (its builds that went live), oldest first. */
  async versionsForSession(sessionId: string): Promise<BuildRow[]> {
    const rows = await this.db
      .select()
      .from(builds)
      .where(and(eq(builds.sessionId, sessionId), isNotNull(builds.version)))
      .orderBy(asc(builds.version));
    return rows.map(toRow);
  }

  async getVersion(sessionId: string, version: number): Promise<BuildRow | undefined> {
    const [row] = await this.db
      .select()
      .from(builds)
      .where(and(eq(builds.sessionId, sessionId), eq(builds.version, version)));
    return row && toRow(row);
  }

  /**
   * Marks a build succeeded and gives it the session's next version number, in one statement;
   * a build that has a version already keeps it (a job run again after it went live).
   */
  async succeed(id: string, patch: BuildPatch): Promise<BuildRow | undefined> {
    const [row] = await this.db
      .update(builds)
      .set({
        ...patch,
        status: 'succeeded',
        // Qualified by hand: inside the subquery a bare column would name the subquery's own row.
        version: sql`coalesce("builds"."version", (select coalesce(max(v."version"), 0) + 1 from "builds" v where v."session_id" = "builds"."session_id"))`,
      })
      .where(eq(builds.id, id))
      .returning();
    return row && toRow(row);
  }

  async unfinishedForSession(sessionId: string): Promise<BuildRow | undefined> {
    const [row] = await this.db
      .select()
      .from(builds)
      .where(and(eq(builds.sessionId, sessionId), inArray(builds.status, UNFINISHED)))
      .limit(1);
    return row && toRow(row);
  }

  async listUnfinished(limit = 500): Promise<BuildRow[]> {
    const rows = await this.db
      .select()
      .from(builds)
      .where(inArray(builds.status, UNFINISHED))
      .orderBy(asc(builds.createdAt))
      .limit(limit);
    return rows.map(toRow);
  }

  async update(id: string, patch: BuildPatch): Promise<BuildRow | undefined> {
    const [row] = await this.db.update(builds).set(patch).where(eq(builds.id, id)).returning();
    return row && toRow(row);
  }

  /** Builds requested by a user since `since` (daily quota); a rollback builds nothing and is free. */
  async countForUserSince(userId: string, since: Date): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(builds)
      .where(and(ofUser(userId), gte(builds.createdAt, since), isNull(builds.rollbackOf)));
    return row?.n ?? 0;
  }

  /** Sum of LLM cost of a user's builds since `since`, in micro-USD. */
  async costForUserSince(userId: string, since: Date): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`coalesce(sum(${builds.costMicroUsd}), 0)::bigint` })
      .from(builds)
      .where(and(ofUser(userId), gte(builds.createdAt, since)));
    return Number(row?.n ?? 0);
  }

  async costForSession(sessionId: string): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`coalesce(sum(${builds.costMicroUsd}), 0)::bigint` })
      .from(builds)
      .where(eq(builds.sessionId, sessionId));
    return Number(row?.n ?? 0);
  }
}
