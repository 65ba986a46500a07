import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../../src/db/client.js';
import { createRepos, type Repos } from '../../src/db/repos/index.js';
import { copyPgliteTemplate } from './pglite-template.js';
import { ensurePostgresTemplate, postgresUrl, withAdmin } from './postgres-template.js';

export type DbKind = 'pglite' | 'postgres';
export const DB_KINDS: DbKind[] = ['pglite', 'postgres'];

export interface TestDatabase {
  database: Database;
  repos: Repos;
  url: string | undefined;
  drop(): Promise<void>;
}

export interface ThrowawayOptions {
  /** A clone of the migrated template instead of an empty database, as after `spawnai migrate`. */
  migrated?: boolean;
}

/** A throwaway Postgres database on the machine's server; drop() removes it. */
export async function createThrowawayPostgres(
  options: ThrowawayOptions = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `spawnai_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const template = options.migrated ? ` template ${await ensurePostgresTemplate()}` : '';
  await withAdmin((admin) => admin.query(`create database ${name}${template}`));
  return {
    url: postgresUrl(name),
    drop: async () => {
      await withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
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
  const pgdb = await createThrowawayPostgres({ migrated: true });
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
