import { accessSync, constants, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const MEMORY_BASE = '/dev/shm/spawnai-tests';
const RUN_PREFIX = 'run-';

/**
 * Points TMPDIR at memory when the machine has a tmpfs and nobody chose a TMPDIR: on disk, the
 * tests' files (a 39 MB database copy per app, data folders, app folders) and their fsyncs and
 * deletes took 15 s of system CPU where memory took 9 s (a dozen integration files, 2 cores).
 * Called from the Vitest config, before the global setup and the workers start, so all of them
 * share it. Each run has its own folder, removed when the run ends (memory is not given back
 * otherwise); what outlives runs (the PGlite template) goes to `SPAWNAI_TEST_CACHE_DIR`.
 */
export function useMemoryTmpdir(): void {
  if (process.env.TMPDIR) return;
  try {
    accessSync('/dev/shm', constants.W_OK);
  } catch {
    return;
  }
  const dir = path.join(MEMORY_BASE, `${RUN_PREFIX}${process.pid}`);
  mkdirSync(dir, { recursive: true });
  process.env.TMPDIR = dir;
  process.env.SPAWNAI_TEST_CACHE_DIR = MEMORY_BASE;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes the folders of runs whose process is gone (killed before their teardown). */
export function removeAbandonedRuns(): void {
  let entries: string[];
  try {
    entries = readdirSync(MEMORY_BASE);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(name.slice(RUN_PREFIX.length));
    if (name.startsWith(RUN_PREFIX) && Number.isInteger(pid) && !alive(pid)) {
      rmSync(path.join(MEMORY_BASE, name), { recursive: true, force: true });
    }
  }
}

/** Removes this run's folder, when it is one of ours. */
export function removeThisRun(): void {
  const dir = process.env.TMPDIR;
  if (dir && path.dirname(dir) === MEMORY_BASE && path.basename(dir).startsWith(RUN_PREFIX)) {
    rmSync(dir, { recursive: true, force: true });
  }
}
