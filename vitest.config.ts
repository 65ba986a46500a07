import { defineConfig } from 'vitest/config';

export default defineConfig({
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
