import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import { TEST_POSTGRES_ADMIN_URL } from './env.js';
import { migrationsHash } from './pglite-template.js';

/**
 * A migrated database on the machine's Postgres that test databases are cloned from
 * (`create database … template`), one per set of migrations. A clone is a server-side copy of a
 * few MB; migrating an empty database costs the test process about a second of CPU.
 */
export function postgresTemplateName(): string {
  return `spawnai_template_${migrationsHash()}`;
}

export function postgresUrl(database: string): string {
  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/**
 * The template, made once (the global setup makes it before any test runs). It takes no
 * connections once made: Postgres refuses to clone a database someone is connected to.
 */
export async function ensurePostgresTemplate(): Promise<string> {
  const name = postgresTemplateName();
  const exists = await withAdmin(
    async (admin) =>
      (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1,
  );
  if (exists) return name;
  const building = `spawnai_template_building_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin.query(`create database ${building}`));
  const database = await openDatabase({ url: postgresUrl(building), poolMax: 1 });
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
  await withAdmin(async (admin) => {
    try {
      await admin.query(`alter database ${building} rename to ${name}`);
    } catch {
      await admin.query(`drop database if exists ${building} with (force)`); // another run made it first
      return;
    }
    await admin.query(`alter database ${name} with allow_connections false is_template true`);
  });
  return name;
}
