import { and, desc, eq, gte, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { builds, payments, sessions, users } from '../schema.js';

export interface SessionFilter {
  status?: string | undefined;
  platform?: string | undefined;
  provider?: string | undefined;
  limit?: number | undefined;
}

/** Read-only views across tables for the operators' dashboard. */
export class AdminRepo {
  constructor(private readonly db: Db) {}

  async sessions(filter: SessionFilter) {
    const where: SQL[] = [];
    if (filter.status) where.push(eq(sessions.status, filter.status));
    if (filter.platform) where.push(eq(sessions.platform, filter.platform));
    if (filter.provider) where.push(eq(sessions.provider, filter.provider));
    return this.db
      .select({
        id: sessions.id,
        title: sessions.title,
        prompt: sessions.prompt,
        status: sessions.status,
        statusReason: sessions.statusReason,
        platform: sessions.platform,
        provider: sessions.provider,
        previewUrl: sessions.previewUrl,
        expiresAt: sessions.expiresAt,
        createdAt: sessions.createdAt,
        userId: sessions.userId,
        // Correlated subqueries name their tables outright: Drizzle leaves columns unqualified here.
        costMicroUsd: sql<number>`(select coalesce(sum(b.cost_micro_usd), 0)::bigint from builds b where b.session_id = sessions.id)`,
        builds: sql<number>`(select count(*)::int from builds b where b.session_id = sessions.id)`,
      })
      .from(sessions)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(sessions.createdAt))
      .limit(filter.limit ?? 100);
  }

  async users(limit = 100) {
    return this.db
      .select({
        id: users.id,
        displayName: users.displayName,
        plan: users.plan,
        planExpiresAt: users.planExpiresAt,
        credits: users.credits,
        createdAt: users.createdAt,
        platforms: sql<string>`(select string_agg(distinct i.platform, ',') from identities i where i.user_id = users.id)`,
        sessions: sql<number>`(select count(*)::int from sessions s where s.user_id = users.id)`,
        spentMicroUsd: sql<number>`(select coalesce(sum(b.cost_micro_usd), 0)::bigint from builds b join sessions s on b.session_id = s.id where s.user_id = users.id)`,
      })
      .from(users)
      .orderBy(desc(users.createdAt))
      .limit(limit);
  }

  async builds(limit = 100) {
    return this.db
      .select({
        id: builds.id,
        sessionId: builds.sessionId,
        iteration: builds.iteration,
        status: builds.status,
        builder: builds.builder,
        model: builds.model,
        inputTokens: builds.inputTokens,
        outputTokens: builds.outputTokens,
        costMicroUsd: builds.costMicroUsd,
        errorCode: builds.errorCode,
        createdAt: builds.createdAt,
        finishedAt: builds.finishedAt,
      })
      .from(builds)
      .orderBy(desc(builds.createdAt))
      .limit(limit);
  }

  /** Builds, failures and LLM cost per UTC day, and paid revenue per day, for the last `days`. */
  async daily(days = 14) {
    const since = new Date(Date.now() - days * 86_400_000);
    const day = sql<string>`to_char(date_trunc('day', ${builds.createdAt} at time zone 'UTC'), 'YYYY-MM-DD')`;
    const buildRows = await this.db
      .select({
        day,
        builds: sql<number>`count(*)::int`,
        failed: sql<number>`count(*) filter (where ${builds.status} = 'failed')::int`,
        costMicroUsd: sql<number>`coalesce(sum(${builds.costMicroUsd}), 0)::bigint`,
      })
      .from(builds)
      .where(gte(builds.createdAt, since))
      .groupBy(day)
      .orderBy(day);
    const payDay = sql<string>`to_char(date_trunc('day', ${payments.createdAt} at time zone 'UTC'), 'YYYY-MM-DD')`;
    const revenueRows = await this.db
      .select({
        day: payDay,
        currency: payments.currency,
        amount: sql<number>`coalesce(sum(${payments.amount}), 0)::bigint`,
      })
      .from(payments)
      .where(and(gte(payments.createdAt, since), eq(payments.status, 'paid')))
      .groupBy(payDay, payments.currency)
      .orderBy(payDay);
    return {
      builds: buildRows.map((r) => ({ ...r, costMicroUsd: Number(r.costMicroUsd) })),
      revenue: revenueRows.map((r) => ({ ...r, amount: Number(r.amount) })),
    };
  }

  async totals() {
    const [s] = await this.db
      .select({
        live: sql<number>`count(*) filter (where ${sessions.status} = 'live')::int`,
        total: sql<number>`count(*)::int`,
      })
      .from(sessions);
    const [b] = await this.db
      .select({
        total: sql<number>`count(*)::int`,
        failed: sql<number>`count(*) filter (where ${builds.status} = 'failed')::int`,
        costMicroUsd: sql<number>`coalesce(sum(${builds.costMicroUsd}), 0)::bigint`,
      })
      .from(builds);
    const revenue = await this.db
      .select({
        currency: payments.currency,
        amount: sql<number>`coalesce(sum(${payments.amount}), 0)::bigint`,
      })
      .from(payments)
      .where(eq(payments.status, 'paid'))
      .groupBy(payments.currency);
    const [u] = await this.db.select({ total: sql<number>`count(*)::int` }).from(users);
    return {
      sessions: { live: s?.live ?? 0, total: s?.total ?? 0 },
      builds: {
        total: b?.total ?? 0,
        failed: b?.failed ?? 0,
        errorRate: b && b.total > 0 ? b.failed / b.total : 0,
        costMicroUsd: Number(b?.costMicroUsd ?? 0),
      },
      revenue: revenue.map((r) => ({ currency: r.currency, amount: Number(r.amount) })),
      users: u?.total ?? 0,
    };
  }
}
