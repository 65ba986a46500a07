import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each test file took in a full run on a 2-core machine (`node scripts/test-durations.mjs`
 * rewrites it from the last run). Only an order: a stale or missing entry costs time, not tests.
 */
const HINTS = JSON.parse(readFileSync(new URL('./durations.json', import.meta.url), 'utf8')) as Record<
  string,
  number
>;

/**
 * Failed files first, then the longest first, so no long file starts last and holds up the end.
 * Vitest knows durations only from a run on this machine; a fresh clone (CI's first run) would
 * otherwise start the largest files first, and the long small ones (CLI starts, kills, outages)
 * near the end: 20-30 s more on 2 cores.
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const known = (file: TestSpecification) => {
      const rel = path.relative(root, file.moduleId).split(path.sep).join('/');
      const cached = this.ctx.cache.getFileTestResults(`${file.project.name}:${rel}`);
      return {
        failed: cached?.failed === true,
        seconds: cached?.duration !== undefined ? cached.duration / 1000 : (HINTS[rel] ?? 0),
      };
    };
    return files
      .map((file) => ({ file, ...known(file) }))
      .sort((a, b) => Number(b.failed) - Number(a.failed) || b.seconds - a.seconds)
      .map(({ file }) => file);
  }
}
