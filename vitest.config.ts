import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { useMemoryTmpdir } from './test/memory-tmpdir.js';
import LongestFirst from './test/sequencer.js';

useMemoryTmpdir();

export default defineConfig({
  // Outside node_modules, so the durations of the last run survive `npm ci` and the next run
  // starts its longest files first instead of its largest.
  cacheDir: '.cache/vite',
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Most integration tests wait (on child processes, servers, queues) more than they compute:
    // on this 2-core machine the suite took 420 s with 2 workers, 283 s with 3 and 208 s with 4;
    // later, with fewer CLI starts and waits, 176-180 s with 4 and 160-163 s with 6 (back to back).
    maxWorkers: Math.min(8, 3 * availableParallelism()),
    reporters: ['default'],
    sequence: { sequencer: LongestFirst },
  },
});
