import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type App, createApp, type Roles } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/log.js';
import { freePort } from '../../src/util/free-port.js';
import { uniquePrefix } from './cli.js';
import { createThrowawayPostgres, type DbKind } from './db.js';
import { TEST_REDIS_URL } from './env.js';
import { copyPgliteTemplate } from './pglite-template.js';
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

export interface TestAppOptions {
  /**
   * The database when `env` names none: a migrated throwaway database on the machine's Postgres
   * (the default: production runs on Postgres, and a clone costs this process nothing), or PGlite
   * in the data folder, as a Quick start install runs.
   */
  database?: DbKind;
}

/**
 * The real application in this process, on real Redis (a fresh queue prefix) and a database of
 * its own (see {@link TestAppOptions.database}, or the given DATABASE_URL), listening on a free port.
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  roles: Partial<Roles> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'spawnai-app-'));
  // As DATA_DIR usually is: the local apps' sandbox user (nobody) may pass through it.
  chmodSync(dataDir, 0o755);
  // A database of its own, as a fresh install has, without paying for initdb and migrations.
  let ownPostgres: Awaited<ReturnType<typeof createThrowawayPostgres>> | undefined;
  if (!env.DATABASE_URL) {
    if (options.database === 'pglite') {
      await copyPgliteTemplate(path.join(dataDir, 'db'));
    } else {
      ownPostgres = await createThrowawayPostgres({ migrated: true });
      env = { ...env, DATABASE_URL: ownPostgres.url };
    }
  }
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniquePrefix(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PREVIEW_PORT: '0',
    ...FAST_WORKER_ENV,
    ...env,
  });
  const logger = createLogger(config.LOG_LEVEL);
  let app: App;
  try {
    app = await createApp(
      config,
      { web: true, worker: true, bot: false, migrate: true, ...roles },
      logger,
      config.REDIS_URL,
    );
    await app.start();
  } catch (e) {
    await ownPostgres?.drop().catch(() => {});
    throw e;
  }
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
      await ownPostgres?.drop();
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

/**
 * Waits (with a deadline) until the inbound worker has handled every delivery queued so far:
 * routes answer once a message is queued, so what it changes shows up a moment later.
 */
export async function inboundSettled(app: App, timeoutMs = 15_000): Promise<void> {
  await until(
    'the inbound worker to handle every queued delivery',
    async () => {
      const counts = await app.inbound.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    },
    timeoutMs,
    50,
  );
}

/** What the inbound worker's handler returned for one delivery (e.g. a Stripe event's outcome). */
export async function inboundResult(
  app: App,
  source: Parameters<App['inbound']['enqueue']>[0],
  eventId: string,
  timeoutMs = 15_000,
): Promise<unknown> {
  const { InboundQueue } = await import('../../src/queue/inbound.js');
  return until(
    `the inbound job of ${source} ${eventId}`,
    async () => {
      const job = await app.inbound.queue.getJob(InboundQueue.jobId(source, eventId));
      return job && (await job.isCompleted()) ? { value: job.returnvalue as unknown } : undefined;
    },
    timeoutMs,
    50,
  ).then((r) => r.value);
}
