import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/db/client.js';
import { createRepos, type Repos } from '../../src/db/repos/index.js';
import { TEST_POSTGRES_ADMIN_URL } from './env.js';
import { copyPgliteTemplate } from './pglite-template.js';

export type DbKind = 'pglite' | 'postgres';
export const DB_KINDS: DbKind[] = ['pglite', 'postgres'];

export interface TestDatabase {
  database: Database;
  repos: Repos;
  url: string | undefined;
  drop(): Promise<void>;
}

/** A throwaway Postgres database on the machine's server; drop() removes it. */
export async function createThrowawayPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `spawnai_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A migrated database of the given kind: PGlite in a temp folder, or a throwaway Postgres database. */
export async function openTestDatabase(kind: DbKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'spawnai-pglite-')), 'db');
    await copyPgliteTemplate(dir);
    const database = await openDatabase({ pgliteDir: dir });
    await database.migrate();
    return {
      database,
      repos: createRepos(database.db),
      url: undefined,
      drop: async () => {
        await database.close();
        rmSync(path.dirname(dir), { recursive: true, force: true });
      },
    };
  }
  const pgdb = await createThrowawayPostgres();
  const database = await openDatabase({ url: pgdb.url, poolMax: 5 });
  await database.migrate();
  return {
    database,
    repos: createRepos(database.db),
    url: pgdb.url,
    drop: async () => {
      await database.close();
      await pgdb.drop();
    },
  };
}
