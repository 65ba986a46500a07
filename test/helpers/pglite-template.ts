import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrationsFolder, openDatabase } from '../../src/db/client.js';
import { TEST_CACHE_DIR } from './env.js';

/** Names a migrated template after the migrations it holds, so a new migration makes a new one. */
export function migrationsHash(): string {
  const hash = createHash('sha256');
  const folder = migrationsFolder();
  const files = [
    ...readdirSync(folder).filter((f) => f.endsWith('.sql')),
    path.join('meta', '_journal.json'),
  ].sort();
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(folder, file)));
  return hash.digest('hex').slice(0, 16);
}

/**
 * A new PGlite database costs an initdb and every migration (2-10 s, most of it CPU); a copy
 * of one already migrated costs a file copy. Tests that need a fresh, empty database start from
 * this template, kept per set of migrations.
 */
export function pgliteTemplateDir(): string {
  // Kept across runs (test/memory-tmpdir.ts gives each run a TMPDIR of its own).
  const base = TEST_CACHE_DIR ?? tmpdir();
  return path.join(base, `spawnai-pglite-template-${migrationsHash()}`);
}

/** The migrated template, made once; concurrent callers each build one and the first rename wins. */
export async function ensurePgliteTemplate(): Promise<string> {
  const dir = pgliteTemplateDir();
  if (existsSync(path.join(dir, 'PG_VERSION'))) return dir;
  const building = `${dir}.building-${process.pid}-${randomBytes(4).toString('hex')}`;
  const database = await openDatabase({ pgliteDir: building });
  await database.migrate();
  await database.close();
  try {
    renameSync(building, dir);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process got there first
  }
  return dir;
}

/** Fills `target` (a PGlite folder that must not exist yet) with a fresh migrated database. */
export async function copyPgliteTemplate(target: string): Promise<void> {
  cpSync(await ensurePgliteTemplate(), target, { recursive: true });
}
