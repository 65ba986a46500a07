import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensurePgliteTemplate } from './helpers/pglite-template.js';
import { ensurePostgresTemplate } from './helpers/postgres-template.js';
import { removeAbandonedRuns, removeThisRun } from './memory-tmpdir.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Tests start the compiled CLI (dist/), which starts in half the time tsx needs. When the
 * sources changed since the last build, build once before any test runs.
 */
function ensureCurrentBuild(): void {
  const check = spawnSync(process.execPath, ['scripts/source-stamp.mjs', 'check'], { cwd: ROOT });
  if (check.status === 0) return;
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed: the CLI tests need a current dist/');
}

export default async function setup(): Promise<() => void> {
  removeAbandonedRuns();
  ensureCurrentBuild();
  // Made once here, so the test processes copy them instead of racing to build them.
  await Promise.all([ensurePgliteTemplate(), ensurePostgresTemplate()]);
  return removeThisRun;
}
