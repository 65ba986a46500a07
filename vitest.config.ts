import { defineConfig } from 'vitest/config';

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
    // Integration tests start processes and real servers; two cores do not like more.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
