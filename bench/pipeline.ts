/**
 * `npm run bench:pipeline`: messages per second through SpawnAI's whole pipeline (an `inbound`
 * job → the conversation → user, session and build rows → a `spawn` job → build with the offline
 * builder at no step delay → bundle stored → deploy with a no-op provider → preview answers 200
 * → session `live`), against raw BullMQ (a no-op worker, the same number of jobs, the same
 * concurrency) on the same private redis-server, in one run. Postgres. Writes
 * bench/results/pipeline.json. Target: at least 50% of raw BullMQ's jobs per second.
 * Beside it, in the same run, a chain of two no-op BullMQ jobs per message: the ceiling any
 * pipeline that hands a message from one queue to another can reach against that target.
 * Also records what one message costs (Postgres statements, Redis commands, CPU of this
 * process) and the load average, since both bound the result on a shared machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance as perfHooks } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pgDriver from 'pg';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger, silentLogger } from '../src/log.js';
import type { Provider } from '../src/provision/types.js';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort } from '../src/util/free-port.js';
import { createThrowawayPostgres } from '../test/helpers/db.js';
import { writeResult } from './result.js';

// Enough jobs that raw BullMQ runs for about a second, not a tenth of one.
const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const TARGET_SHARE = 0.5;
const ENQUEUE_IN_FLIGHT = 64;

/** Deploys nothing: the "app" is one HTTP server that answers 200 for every session. */
function noopProvider(url: string): Provider {
  return {
    name: 'local',
    async deploy(request) {
      return { serviceId: `noop-${request.sessionId}`, url };
    },
    async status() {
      return 'running';
    },
    async destroy() {},
    async list() {
      return [];
    },
  };
}

/** Postgres statements and Redis commands sent by this process, counted at the drivers. */
const sent = { postgres: 0, redis: 0 };
const pgQuery = pgDriver.Client.prototype.query as (...args: unknown[]) => unknown;
(pgDriver.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
  this: pgDriver.Client,
  ...args: unknown[]
) {
  sent.postgres++;
  return pgQuery.apply(this, args);
};
const redisSend = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
  sent.redis++;
  return redisSend.apply(this, args);
};

interface RawResult {
  jobsPerSecond: number;
  seconds: number;
  cpuMsPerJob: number;
}

/**
 * BullMQ with no-op work, `JOBS` messages added in bulk. `stages` 1 is raw BullMQ, the target's
 * reference; `stages` 2 hands each message on to a second queue, as our `inbound` job hands a
 * message on to a `spawn` job: the most any pipeline of two jobs per message can reach here.
 */
async function rawBullmq(redisUrl: string, stages: 1 | 2 = 1): Promise<RawResult> {
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(redisUrl, { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  const prefix = stages === 1 ? 'benchraw' : 'benchchain';
  const first = new Queue('raw', { connection: connect(), prefix });
  const second = stages === 2 ? new Queue('next', { connection: connect(), prefix }) : undefined;
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const options = { prefix, concurrency: CONCURRENCY, autorun: false };
  const workers = [
    new Worker('raw', async (job) => (second ? void (await second.add('noop', job.data)) : undefined), {
      ...options,
      connection: connect(),
    }),
  ];
  if (second) workers.push(new Worker('next', async () => undefined, { ...options, connection: connect() }));
  workers.at(-1)?.on('completed', () => {
    if (++done === JOBS) finish();
  });
  await first.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'noop', data: { i } })));
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (const worker of workers) void worker.run();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await Promise.all(workers.map((w) => w.close()));
  for (const queue of [first, second]) {
    await queue?.obliterate({ force: true });
    await queue?.close();
  }
  for (const c of connections) c.disconnect();
  return {
    jobsPerSecond: Math.round(JOBS / seconds),
    seconds: Math.round(seconds * 100) / 100,
    cpuMsPerJob: Math.round(((cpu.user + cpu.system) / 1000 / JOBS) * 100) / 100,
  };
}

async function spawnaiPipeline(redisUrl: string, databaseUrl: string, dataDir: string) {
  const preview = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  const previewPort = await freePort();
  await new Promise<void>((resolve) => preview.listen(previewPort, '127.0.0.1', resolve));
  const config = loadConfig({
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: '20',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: 'benchpipe',
    LOG_LEVEL: 'error',
    PREVIEW_PORT: '0',
    OFFLINE_BUILD_STEP_MS: '0',
    INBOUND_CONCURRENCY: String(CONCURRENCY),
    WORKER_CONCURRENCY: String(CONCURRENCY),
    NOTIFY_CONCURRENCY: String(CONCURRENCY),
    FREE_BUILDS_PER_DAY: '100000',
    REAPER_INTERVAL_MS: '3600000',
  });
  const logger = createLogger(config.LOG_LEVEL);
  const app = await createApp(
    config,
    { web: true, worker: true, bot: false, migrate: true },
    logger,
    redisUrl,
  );
  // The no-op provider in place of the local sandbox, before the workers are built from the map.
  (app.providers as Map<string, Provider>).set('local', noopProvider(`http://127.0.0.1:${previewPort}/`));
  await app.start();
  // Status cards posted and edited: how often a card is edited depends on how fast each edit
  // is (the newest state wins while one is in flight), and each edit costs statements too.
  const platformCalls = async () =>
    (await app.metrics.platformCalls.get()).values.reduce((n, v) => n + v.value, 0);
  const callsBefore = await platformCalls();
  const before = { ...sent };
  const cpuBefore = process.cpuUsage();
  const eluBefore = perfHooks.eventLoopUtilization();
  const started = performance.now();
  // Messages arrive as an ingress would pass them on: a bounded number in flight (the web
  // process answers 503 beyond its bound), not all of them in one tick.
  let next = 0;
  const sender = async () => {
    for (let i = next++; i < JOBS; i = next++) {
      await app.inbound.enqueue('web', `bench-user-${i}:bench${String(i).padStart(6, '0')}`, 'message', {
        uid: `benchuser${String(i).padStart(10, '0')}`,
        clientId: `bench${String(i).padStart(6, '0')}`,
        text: `a counter app number ${i}`,
      });
    }
  };
  await Promise.all(Array.from({ length: ENQUEUE_IN_FLIGHT }, sender));
  let live = 0;
  for (;;) {
    live = (await app.repos.sessions.countLive()).reduce((n, r) => n + r.count, 0);
    if (live >= JOBS) break;
    if (performance.now() - started > 600_000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const perMessage = (n: number) => Math.round((n / Math.max(1, live)) * 10) / 10;
  const costs = {
    postgresStatementsPerMessage: perMessage(sent.postgres - before.postgres),
    redisCommandsPerMessage: perMessage(sent.redis - before.redis),
    statusPostsAndEditsPerMessage: perMessage((await platformCalls()) - callsBefore),
    cpuMsPerMessage: perMessage((cpu.user + cpu.system) / 1000),
    eventLoopUtilization: Math.round(perfHooks.eventLoopUtilization(eluBefore).utilization * 100) / 100,
  };
  await app.stop();
  preview.close();
  return {
    jobsPerSecond: Math.round(live / seconds),
    seconds: Math.round(seconds * 100) / 100,
    live,
    ...costs,
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'spawnai-bench-pipeline-'));
  const redis = await startLocalRedis(path.join(work, 'redis'), silentLogger());
  const pg = await createThrowawayPostgres();
  try {
    const loadBefore = loadavg()[0] ?? 0;
    const raw1 = await rawBullmq(redis.url);
    const ours = await spawnaiPipeline(redis.url, pg.url, path.join(work, 'data'));
    const chain = await rawBullmq(redis.url, 2);
    const raw2 = await rawBullmq(redis.url);
    const raw = Math.max(raw1.jobsPerSecond, raw2.jobsPerSecond);
    const shareOf = (n: number) => Math.round((n / raw) * 1000) / 1000;
    const share = shareOf(ours.jobsPerSecond);
    writeResult(
      'pipeline',
      {
        setup: {
          jobs: JOBS,
          concurrency: CONCURRENCY,
          spawnai:
            'in one process: inbound job (a web chat message) -> conversation -> session + build rows -> spawn job -> offline builder (no step delay) -> local bundle store -> no-op provider -> preview 200 -> live; Postgres',
          raw: 'BullMQ Queue.addBulk + Worker with a no-op processor, same concurrency, same Redis',
          twoJobChain:
            'the same, but each job adds one job to a second queue with its own no-op Worker (as inbound hands on to spawn); messages a second through both',
        },
        target: { shareOfRaw: TARGET_SHARE },
        met: share >= TARGET_SHARE,
        raw: [raw1, raw2],
        twoJobChain: { ...chain, shareOfRaw: shareOf(chain.jobsPerSecond) },
        spawnai: ours,
        shareOfRaw: share,
        // Other work on the machine takes CPU from both sides; above the CPU count it dominates.
        loadAverage1m: {
          before: Math.round(loadBefore * 10) / 10,
          after: Math.round((loadavg()[0] ?? 0) * 10) / 10,
        },
      },
      {
        spawnaiJobsPerSecond: ours.jobsPerSecond,
        rawJobsPerSecond: raw,
        shareOfRaw: share,
        twoJobChainShareOfRaw: shareOf(chain.jobsPerSecond),
      },
    );
  } finally {
    await pg.drop().catch(() => {});
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
