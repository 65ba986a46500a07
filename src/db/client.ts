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

const MIGRATION_LOCK_KEY = 7_163_401_238; // any constant; serialises migrations across processes

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
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await migratePg(drizzlePg(client, { schema }), { migrationsFolder: migrationsFolder() });
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      } finally {
        client.release();
      }
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
