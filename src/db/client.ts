import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { StartupError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { withTimeout } from '../util/time.js';
import { schema } from './schema.js';

/** The Drizzle database both drivers give; repositories take this (or a transaction of it). */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Db;
  /** Rejects when the database does not answer `select 1` within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  /** Applies pending migrations; safe to run from several processes at once on Postgres. */
  migrate(): Promise<void>;
  /** How many migrations of this version are not applied yet. */
  pendingMigrations(): Promise<number>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Postgres URL; unset opens PGlite. */
  url?: string | undefined;
  /** PGlite folder; `memory://` (or unset) keeps it in memory. */
  pgliteDir?: string | undefined;
  poolMax?: number;
  connectTimeoutMs?: number;
  /**
   * Where migrations run (DATABASE_DIRECT_URL): a direct or session-pooler connection when
   * `url` goes through a transaction pooler. Default: `url`.
   */
  migrationUrl?: string | undefined;
  /** Longest wait for another process's migration lock; default {@link MIGRATION_LOCK_TIMEOUT_MS}. */
  migrationLockTimeoutMs?: number;
}

export function migrationsFolder(): string {
  return path.join(packageRoot(), 'src', 'db', 'migrations');
}

function journalSize(): number {
  const journal = JSON.parse(
    readFileSync(path.join(migrationsFolder(), 'meta', '_journal.json'), 'utf8'),
  ) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

async function countPending(db: Db): Promise<number> {
  try {
    const rows = (await db.execute(
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    )) as unknown as { rows: { n: number }[] } | { n: number }[];
    const list = Array.isArray(rows) ? rows : rows.rows;
    return Math.max(0, journalSize() - Number(list[0]?.n ?? 0));
  } catch {
    return journalSize(); // no migrations table yet
  }
}

/** Any constant; serialises migrations across processes. */
export const MIGRATION_LOCK_KEY = 7_163_401_238n;
/** How long a start waits for another process's migrations before giving up. */
export const MIGRATION_LOCK_TIMEOUT_MS = 60_000;
/** Postgres: "canceling statement due to lock timeout". */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Whether `url` is Supabase's shared transaction pooler (Supavisor on port 6543), which does not
 * keep session state between transactions: no session-level advisory locks, `SET` or named
 * prepared statements (https://supabase.com/docs/guides/database/connecting-to-postgres).
 */
export function isSupabaseTransactionPooler(url: string): boolean {
  try {
    const u = new URL(url);
    return u.hostname.endsWith('.pooler.supabase.com') && u.port === '6543';
  } catch {
    return false;
  }
}

/**
 * A note for the operator when migrations would run through Supabase's transaction pooler:
 * they work (the lock is transaction-scoped), but Supabase recommends the direct connection or
 * the session pooler for schema changes.
 */
export function migrationAdvice(
  databaseUrl: string | undefined,
  directUrl: string | undefined,
): string | undefined {
  if (!databaseUrl || directUrl || !isSupabaseTransactionPooler(databaseUrl)) return undefined;
  return "DATABASE_URL is Supabase's transaction pooler (port 6543); migrations run through it under a transaction-scoped lock. Set DATABASE_DIRECT_URL to the direct connection or the session pooler (port 5432) to migrate outside the pooler";
}

/**
 * Who holds the migration lock, for the message when waiting for it timed out. Advisory locks
 * belong to one database: a migration of another database on the same server holds the same
 * key without being in our way.
 */
async function lockHolders(client: pg.Client): Promise<string> {
  const high = Number(MIGRATION_LOCK_KEY >> 32n);
  const low = Number(MIGRATION_LOCK_KEY & 0xffff_ffffn);
  const res = await client
    .query<{ pid: number; application_name: string; backend_start: Date | null }>(
      `select a.pid, a.application_name, a.backend_start from pg_locks l
         join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.classid = $1 and l.objid = $2
          and l.database = (select oid from pg_database where datname = current_database())`,
      [high, low],
    )
    .catch(() => ({ rows: [] }));
  if (res.rows.length === 0) return 'no holder is visible';
  return res.rows
    .map(
      (r) =>
        `pid ${r.pid}${r.application_name ? ` (${r.application_name})` : ''}${r.backend_start ? ` connected since ${r.backend_start.toISOString()}` : ''}`,
    )
    .join(', ');
}

/** Postgres' own words (Drizzle wraps them in "Failed query: ..."), with the fix for a role that may not. */
function migrationFailed(e: unknown): StartupError {
  const cause = (e as { cause?: unknown }).cause;
  const reason = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
  const hint = /permission denied|must be owner/i.test(reason)
    ? '; the role of this URL may not change the schema: set DATABASE_DIRECT_URL to a URL whose role may'
    : '';
  return new StartupError(`database migrations failed: ${reason}${hint}`, { cause: e });
}

/**
 * Applies pending migrations while holding a transaction-scoped advisory lock on a second
 * connection. A session-level lock (`pg_advisory_lock`) leaks through a transaction pooler:
 * the unlock may reach another server connection and the next start waits forever. A lock taken
 * inside an open transaction lives exactly as long as that transaction, on every kind of
 * connection, and `lock_timeout` bounds the wait for it.
 */
async function migrateWithLock(url: string, timeoutMs: number): Promise<void> {
  const lock = new pg.Client({ connectionString: url, application_name: 'spawnai migrate (lock)' });
  const work = new pg.Client({ connectionString: url, application_name: 'spawnai migrate' });
  lock.on('error', () => {});
  work.on('error', () => {});
  await lock.connect();
  try {
    await lock.query('begin');
    await lock.query(`set local lock_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
    try {
      await lock.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    } catch (e) {
      if ((e as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw e;
      await lock.query('rollback').catch(() => {});
      throw new StartupError(
        `database migrations: another process has held the migration lock for more than ${Math.round(timeoutMs / 1000)} s (${await lockHolders(lock)}); wait for its migrations to finish, or end that connection if nothing is migrating`,
      );
    }
    await work.connect();
    try {
      await migratePg(drizzlePg(work, { schema }), { migrationsFolder: migrationsFolder() });
    } catch (e) {
      throw migrationFailed(e);
    } finally {
      await work.end().catch(() => {});
    }
    await lock.query('commit');
  } finally {
    await lock.end().catch(() => {});
  }
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options) : openPglite(options.pgliteDir);
}

function openPostgres(url: string, options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    // Supabase's transaction pooler (port 6543) cannot keep named prepared statements;
    // Drizzle only names a statement when .prepare(name) is called, which we never do.
  });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    async ping(timeoutMs = 3000) {
      await withTimeout(
        pool.query('select 1'),
        timeoutMs,
        () => new Error('postgres did not answer in time'),
      );
    },
    async migrate() {
      await migrateWithLock(
        options.migrationUrl ?? url,
        options.migrationLockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS,
      );
    },
    pendingMigrations: () => countPending(db),
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(dir: string | undefined): Promise<Database> {
  const inMemory = dir === undefined || dir.startsWith('memory://');
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const client = inMemory ? new PGlite() : new PGlite(dir);
  await client.waitReady;
  const db = drizzlePglite(client, { schema });
  return {
    kind: 'pglite',
    db: db as unknown as Db,
    async ping(timeoutMs = 3000) {
      await withTimeout(
        db.execute(sql`select 1`),
        timeoutMs,
        () => new Error('pglite did not answer in time'),
      );
    },
    async migrate() {
      await migratePglite(db, { migrationsFolder: migrationsFolder() });
    },
    pendingMigrations: () => countPending(db as unknown as Db),
    async close() {
      await client.close();
    },
  };
}
