import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isSupabaseTransactionPooler,
  MIGRATION_LOCK_KEY,
  migrationAdvice,
  openDatabase,
} from '../../../src/db/client.js';
import { runCli } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { startTransactionPooler, type TransactionPooler } from '../../helpers/pgbouncer.js';

/**
 * Advisory locks on the migration key still held in this database (other test files migrate
 * their own databases on the same server at the same time, under the same key).
 */
async function heldMigrationLocks(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const res = await c.query<{ n: number }>(
      `select count(*)::int as n from pg_locks
        where locktype = 'advisory' and classid = $1 and objid = $2
          and database = (select oid from pg_database where datname = current_database())`,
      [Number(MIGRATION_LOCK_KEY >> 32n), Number(MIGRATION_LOCK_KEY & 0xffff_ffffn)],
    );
    return res.rows[0]!.n;
  } finally {
    await c.end();
  }
}

describe('migrations through a transaction pooler (Supabase port 6543, here PgBouncer in transaction mode)', () => {
  let pooler: TransactionPooler;
  beforeAll(async () => {
    pooler = await startTransactionPooler();
  });
  afterAll(async () => {
    await pooler?.stop();
  });

  it('three starts migrating at once all finish, the schema is applied once, and no lock is left behind', async () => {
    const db = await createThrowawayPostgres();
    const opened = await Promise.all(
      [1, 2, 3].map(() => openDatabase({ url: pooler.through(db.url), poolMax: 2 })),
    );
    try {
      await Promise.all(opened.map((d) => d.migrate()));
      expect(await opened[0]!.pendingMigrations()).toBe(0);
      expect(await heldMigrationLocks(db.url)).toBe(0);
      // The next start is not kept waiting by anything the previous ones left.
      await opened[1]!.migrate();
      expect(await heldMigrationLocks(db.url)).toBe(0);
    } finally {
      for (const d of opened) await d.close();
      await db.drop();
    }
  });

  it('a start gives up after DATABASE_MIGRATION_LOCK_TIMEOUT_MS, naming who holds the lock', async () => {
    const db = await createThrowawayPostgres();
    const holder = new pg.Client({ connectionString: db.url, application_name: 'stuck-migrator' });
    await holder.connect();
    // The same key held in another database on the server is not in this start's way.
    const other = await createThrowawayPostgres();
    const bystander = new pg.Client({ connectionString: other.url, application_name: 'other-database' });
    await bystander.connect();
    try {
      await bystander.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
      await holder.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
      const r = await runCli(['migrate'], {
        DATABASE_URL: pooler.through(db.url),
        DATABASE_MIGRATION_LOCK_TIMEOUT_MS: '1000',
      });
      expect(r.code, r.output).toBe(1);
      expect(r.output).toContain('another process has held the migration lock for more than 1 s');
      expect(r.output).toContain('stuck-migrator');
      expect(r.output).not.toContain('other-database');
      await holder.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
      const again = await runCli(['migrate'], { DATABASE_URL: pooler.through(db.url) });
      expect(again.code, again.output).toBe(0);
      expect(again.output).toContain('migration(s) applied');
    } finally {
      await holder.end();
      await bystander.end();
      await db.drop();
      await other.drop();
    }
  }, 90_000); // CLI processes: slow on a loaded machine, not wrong
});

describe('DATABASE_DIRECT_URL', () => {
  it('runs the migrations over the direct URL while DATABASE_URL may not change the schema', async () => {
    const db = await createThrowawayPostgres();
    const role = `spawnai_app_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // Like an application role behind a pooler: it may connect and use tables, not create schemas.
    await admin.query(`create role ${role} login`);
    await admin.query(`revoke create on database ${new URL(db.url).pathname.slice(1)} from public`);
    await admin.end();
    const appUrl = new URL(db.url);
    appUrl.username = role;
    try {
      const refused = await runCli(['migrate'], { DATABASE_URL: appUrl.toString() });
      expect(refused.code).not.toBe(0);
      expect(refused.output).toMatch(
        /database migrations failed: permission denied.*set DATABASE_DIRECT_URL/,
      );

      const migrated = await runCli(['migrate'], {
        DATABASE_URL: appUrl.toString(),
        DATABASE_DIRECT_URL: db.url,
      });
      expect(migrated.code, migrated.output).toBe(0);
      expect(migrated.output).toContain('migration(s) applied');
      const direct = await openDatabase({ url: db.url });
      expect(await direct.pendingMigrations()).toBe(0);
      await direct.close();
    } finally {
      await db.drop();
      const c = new pg.Client({ connectionString: db.url.replace(/\/[^/]+$/, '/postgres') });
      await c.connect();
      await c.query(`drop role if exists ${role}`);
      await c.end();
    }
  }, 90_000); // CLI processes: slow on a loaded machine, not wrong

  it('is refused without DATABASE_URL', async () => {
    const r = await runCli(['migrate'], { DATABASE_DIRECT_URL: 'postgres://postgres@127.0.0.1:5432/x' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('DATABASE_DIRECT_URL must be set together with DATABASE_URL');
  }, 90_000); // CLI processes: slow on a loaded machine, not wrong

  it("recognises Supabase's transaction pooler and advises a direct URL for migrations", () => {
    const pooled = 'postgres://postgres.abcd:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
    const session = 'postgres://postgres.abcd:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres';
    expect(isSupabaseTransactionPooler(pooled)).toBe(true);
    expect(isSupabaseTransactionPooler(session)).toBe(false);
    expect(isSupabaseTransactionPooler('postgres://postgres@db.abcd.supabase.co:5432/postgres')).toBe(false);
    expect(migrationAdvice(pooled, undefined)).toMatch(/Set DATABASE_DIRECT_URL/);
    expect(migrationAdvice(pooled, session)).toBeUndefined();
    expect(migrationAdvice(session, undefined)).toBeUndefined();
  });
});
