import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type App, createApp, type Roles } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/log.js';
import { freePort } from '../../src/redis/local-server.js';
import { uniquePrefix } from './cli.js';
import { TEST_REDIS_URL } from './env.js';
import { cleanupPrefix } from './redis.js';

export interface TestApp {
  app: App;
  config: Config;
  url: string;
  logger: Logger;
  stop(): Promise<void>;
}

/** Settings that keep tests quick: short locks, no scheduled sweeps (tests sweep by hand). */
export const FAST_WORKER_ENV = {
  WORKER_LOCK_MS: '3000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  REAPER_INTERVAL_MS: '3600000',
  JOB_BACKOFF_MS: '200',
  SHUTDOWN_TIMEOUT_MS: '3000',
} as const;

/**
 * The real application in this process, on real Redis (a fresh queue prefix) and PGlite in a
 * temp folder (or the given DATABASE_URL), listening on a free port.
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  roles: Partial<Roles> = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'spawnai-app-'));
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniquePrefix(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    LOCAL_PREVIEW_HOST: '127.0.0.1',
    ...FAST_WORKER_ENV,
    ...env,
  });
  const logger = createLogger(config.LOG_LEVEL);
  const app = await createApp(
    config,
    { web: true, worker: true, bot: false, migrate: true, ...roles },
    logger,
    config.REDIS_URL,
  );
  await app.start();
  let stopped = false;
  return {
    app,
    config,
    url: `http://127.0.0.1:${port}`,
    logger,
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.stop();
      await cleanupPrefix(config.QUEUE_PREFIX);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
  );
}
