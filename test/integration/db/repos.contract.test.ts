import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConversationRef, conversationKey } from '../../../src/core/platform.js';
import type { Db } from '../../../src/db/client.js';
import { createRepos } from '../../../src/db/repos/index.js';
import { SpawnError } from '../../../src/errors.js';
import { DB_KINDS, openTestDatabase, type TestDatabase } from '../../helpers/db.js';

const conversation: ConversationRef = { platform: 'web', teamId: '', channelId: 'c1' };
let seq = 0;
const nextId = () => `s${Date.now().toString(36)}${(seq++).toString(36)}`;

/** One contract every database driver must keep: the same suite on Postgres and PGlite. */
describe.each(DB_KINDS)('repositories on %s', (kind) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function newSession() {
    const { user } = await t.repos.users.upsertByIdentity({
      platform: 'web',
      teamId: '',
      platformUserId: `u-${nextId()}`,
      displayName: 'Ada',
    });
    const session = await t.repos.sessions.create({
      id: nextId(),
      userId: user.id,
      platform: 'web',
      conversationKey: conversationKey(conversation),
      conversation,
      prompt: 'a todo list',
      provider: 'local',
      ttlMinutes: 60,
    });
    return { user, session };
  }

  it('migrates twice without error', async () => {
    await t.database.migrate();
    await t.database.ping();
  });

  it('upserts one user per identity, even concurrently', async () => {
    const input = {
      platform: 'slack' as const,
      teamId: 'T1',
      platformUserId: `U-${nextId()}`,
      displayName: 'Bo',
    };
    const results = await Promise.all([1, 2, 3, 4].map(() => t.repos.users.upsertByIdentity(input)));
    const ids = new Set(results.map((r) => r.user.id));
    expect(ids.size).toBe(1);
    const again = await t.repos.users.upsertByIdentity({ ...input, displayName: 'Bo B.' });
    expect(again.created).toBe(false);
    expect([...ids][0]).toBe(again.user.id);
    expect((await t.repos.users.identitiesOf(again.user.id)).length).toBe(1);
  });

  it('moves a session forward with one audit row per change', async () => {
    const { session } = await newSession();
    for (const to of ['building', 'deploying', 'live'] as const) {
      const r = await t.repos.sessions.transition(session.id, to, { actor: 'worker' });
      expect(r.changed).toBe(true);
    }
    const repeat = await t.repos.sessions.transition(session.id, 'live', { actor: 'worker' });
    expect(repeat.changed).toBe(false);
    await t.repos.sessions.transition(session.id, 'expired', { actor: 'reaper', reason: 'time is up' });
    const row = await t.repos.sessions.get(session.id);
    expect(row?.status).toBe('expired');
    expect(row?.statusReason).toBe('time is up');
    expect(row?.endedAt).toBeInstanceOf(Date);
    const audit = await t.repos.audit.listFor('session', session.id);
    expect(audit.map((a) => a.action)).toEqual([
      'session.created',
      'session.status',
      'session.status',
      'session.status',
      'session.status',
    ]);
    expect(audit.at(-1)?.data).toEqual({ from: 'live', to: 'expired', reason: 'time is up' });
  });

  it('moves a session the caller saw as it was in one step, and one it did not see as it is too', async () => {
    const { session } = await newSession();
    const building = await t.repos.sessions.transition(session.id, 'building', {
      actor: 'worker',
      expected: 'queued',
    });
    expect(building).toMatchObject({ changed: true, from: 'queued', session: { status: 'building' } });
    // Stale: the session is building, not queued; the change still happens, from what it is.
    const deploying = await t.repos.sessions.transition(session.id, 'deploying', {
      actor: 'worker',
      expected: 'queued',
    });
    expect(deploying).toMatchObject({ changed: true, from: 'building', session: { status: 'deploying' } });
    const live = await t.repos.sessions.transition(session.id, 'live', {
      actor: 'worker',
      expected: 'deploying',
      patch: { previewUrl: 'http://app.example/', serviceId: 'svc-1' },
    });
    expect(live.session).toMatchObject({
      status: 'live',
      previewUrl: 'http://app.example/',
      serviceId: 'svc-1',
    });
    expect(live.session.updatedAt).toBeInstanceOf(Date);
    expect(await t.repos.sessions.get(session.id)).toEqual(live.session);
    const audit = await t.repos.audit.listFor('session', session.id);
    expect(audit.filter((a) => a.action === 'session.status').map((a) => a.data)).toEqual([
      { from: 'queued', to: 'building' },
      { from: 'building', to: 'deploying' },
      { from: 'deploying', to: 'live' },
    ]);
    expect(audit.at(-1)).toMatchObject({ actor: 'worker', subjectType: 'session', subjectId: session.id });
    await expect(
      t.repos.sessions.transition(session.id, 'building', { actor: 'worker', expected: 'queued' }),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_TRANSITION' });
  });

  it.each([
    ['live', 'queued'],
    ['live', 'building'],
    ['deploying', 'building'],
    ['expired', 'live'],
    ['stopped', 'failed'],
  ] as const)('refuses %s -> %s and changes nothing', async (from, to) => {
    const { session } = await newSession();
    const path: Record<string, string[]> = {
      live: ['building', 'deploying', 'live'],
      deploying: ['building', 'deploying'],
      expired: ['building', 'deploying', 'live', 'expired'],
      stopped: ['stopped'],
    };
    for (const step of path[from] ?? []) {
      await t.repos.sessions.transition(session.id, step as never, { actor: 'test' });
    }
    const auditBefore = await t.repos.audit.listFor('session', session.id);
    const attempt = t.repos.sessions.transition(session.id, to, { actor: 'test' });
    await expect(attempt).rejects.toBeInstanceOf(SpawnError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_SESSION_TRANSITION' });
    expect((await t.repos.sessions.get(session.id))?.status).toBe(from);
    expect(await t.repos.audit.listFor('session', session.id)).toHaveLength(auditBefore.length);
  });

  it('rolls back the status change when the audit insert fails inside a transaction', async () => {
    const { session } = await newSession();
    await expect(
      t.repos.transaction(async (tx) => {
        await tx.sessions.transition(session.id, 'building', { actor: 'test' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await t.repos.sessions.get(session.id))?.status).toBe('queued');
  });

  /** The same request delivered `copies` times at once: each copy tries to create its build. */
  async function concurrentCreates(copies: number) {
    const { session } = await newSession();
    const requestKey = `web:${nextId()}`;
    const build = {
      sessionId: session.id,
      iteration: 1,
      requestKey,
      jobId: 'j',
      prompt: 'p',
      builder: 'offline',
    };
    const results = await Promise.all(Array.from({ length: copies }, () => t.repos.builds.createOnce(build)));
    return { session, created: results.filter(Boolean) };
  }

  it('creates one build per request key, even concurrently', async () => {
    const { session, created } = await concurrentCreates(3);
    expect(created).toHaveLength(1);
    expect((await t.repos.builds.listForSession(session.id)).length).toBe(1);
  });

  // Two unique indexes guard a build (request key; session + iteration). A concurrent twin can
  // hit either first, and both mean "this request has its build"; 20 rounds made the race show.
  it('answers a concurrent twin with "exists" whichever unique index it hits first', async () => {
    for (let round = 0; round < 20; round++) {
      expect((await concurrentCreates(6)).created).toHaveLength(1);
    }
  });

  it("numbers a session's successful builds 1..n as versions, skipping failed ones", async () => {
    const { session } = await newSession();
    const make = (iteration: number) =>
      t.repos.builds.createOnce({
        sessionId: session.id,
        iteration,
        requestKey: `v-${session.id}-${iteration}`,
        jobId: `v-${session.id}-${iteration}`,
        prompt: `change ${iteration}`,
        builder: 'offline',
      });
    const [b1, b2, b3] = [await make(1), await make(2), await make(3)];
    await t.repos.builds.succeed(b1!.id, { summary: 'first' });
    await t.repos.builds.update(b2!.id, { status: 'failed' });
    const third = await t.repos.builds.succeed(b3!.id, { summary: 'third' });
    expect(third?.version).toBe(2);
    // A job run again after its build went live keeps the number it has.
    expect((await t.repos.builds.succeed(b3!.id, {}))?.version).toBe(2);
    const versions = await t.repos.builds.versionsForSession(session.id);
    expect(versions.map((v) => [v.version, v.summary])).toEqual([
      [1, 'first'],
      [2, 'third'],
    ]);
    expect((await t.repos.builds.getVersion(session.id, 2))?.id).toBe(b3!.id);
  });

  it("counts a user's builds and cost of the day through indexes, not by reading every build", async () => {
    // Thousands of other people's builds, and no statistics about them (as after a burst, with
    // autovacuum off, or on PGlite): the planner must not be trusted to see that they are many.
    const { user, session } = await newSession();
    await t.database.db.execute(sql`
      with u as (
        insert into users (display_name) select 'other ' || g from generate_series(1, 3000) g returning id
      ), s as (
        insert into sessions (id, user_id, platform, conversation_key, conversation, prompt, provider, ttl_minutes)
        select 'bulk-' || u.id, u.id, 'web', 'web::bulk-' || u.id, '{"platform":"web","teamId":"","channelId":"bulk"}'::jsonb,
               'a counter', 'local', 60
          from u returning id
      )
      insert into builds (session_id, iteration, request_key, job_id, prompt, builder, cost_micro_usd)
      select s.id, 1, s.id, s.id, 'a counter', 'offline', 10 from s`);
    await t.repos.builds.createOnce({
      sessionId: session.id,
      iteration: 1,
      requestKey: `mine-${session.id}`,
      jobId: `mine-${session.id}`,
      prompt: 'a todo list',
      builder: 'offline',
    });
    const since = new Date(Date.now() - 24 * 3600_000);
    const { count, buildsRead } = await t.database.db.transaction(async (tx) => {
      const repos = createRepos(tx as unknown as Db);
      const n = await repos.builds.countForUserSince(user.id, since);
      await repos.builds.costForUserSince(user.id, since);
      // This transaction's own reads of the builds table, row by row (a sequential scan).
      // Postgres' and PGlite's results both carry `rows`.
      const read = (await tx.execute(
        sql`select coalesce(sum(seq_tup_read), 0)::int as n from pg_stat_xact_user_tables where relname = 'builds'`,
      )) as unknown as { rows: { n: number }[] };
      return { count: n, buildsRead: Number(read.rows[0]?.n ?? -1) };
    });
    expect(count).toBe(1);
    expect(buildsRead).toBe(0);
  });

  it('records an inbound event once', async () => {
    const id = `evt-${nextId()}`;
    const results = await Promise.all([1, 2, 3].map(() => t.repos.inboundEvents.record('slack', id)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await t.repos.inboundEvents.record('telegram', id)).toBe(true);
  });

  it('inserts a payment once per checkout session', async () => {
    const { user } = await newSession();
    const cs = `cs_${nextId()}`;
    const rows = await Promise.all(
      ['evt_a', 'evt_b'].map((ev) =>
        t.repos.payments.insertOnce({
          userId: user.id,
          provider: 'stripe',
          kind: 'plan',
          stripeCheckoutSessionId: cs,
          stripeEventId: `${ev}-${cs}`,
          amount: 900,
          currency: 'usd',
        }),
      ),
    );
    expect(rows.filter(Boolean)).toHaveLength(1);
  });

  it('finds expired sessions and the active one in a conversation', async () => {
    const { session } = await newSession();
    await t.repos.sessions.update(session.id, { expiresAt: new Date(Date.now() - 1000) });
    const expired = await t.repos.sessions.listExpired(new Date());
    expect(expired.map((s) => s.id)).toContain(session.id);
    const active = await t.repos.sessions.findActiveInConversation(conversationKey(conversation));
    expect(active).toBeDefined();
  });
});
