import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { jobIdFor, type NotifyJobData } from '../../../src/queue/jobs.js';
import { createQueues, type Queues } from '../../../src/queue/producer.js';
import { startWorkers, type WorkerRunner } from '../../../src/queue/worker-runner.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';

/** Queue behaviour on the real Redis, each test under its own prefix, removed afterwards. */
describe('queues', () => {
  let prefix: string;
  let redis: Redis;
  let queues: Queues;
  let runner: WorkerRunner | undefined;

  beforeEach(() => {
    prefix = uniquePrefix();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
    queues = createQueues(redis, { prefix, spawnAttempts: 3, spawnBackoffMs: 50 });
  });
  afterEach(async () => {
    await runner?.close(1000);
    runner = undefined;
    await queues.close();
    redis.disconnect();
    await cleanupPrefix(prefix);
    const left = await new Redis(TEST_REDIS_URL).keys(`${prefix}:*`);
    expect(left).toEqual([]);
  });

  it('derives valid, stable job ids from idempotency keys', () => {
    const id = jobIdFor('spawn', 'slack:Ev123:with:colons');
    expect(id).toMatch(/^spawn-[0-9a-f]{32}$/);
    expect(id).not.toContain(':');
    expect(jobIdFor('spawn', 'slack:Ev123:with:colons')).toBe(id);
    expect(jobIdFor('spawn', 'slack:Ev124')).not.toBe(id);
  });

  it('keeps one spawn job per id, however often it is added', async () => {
    const id = jobIdFor('spawn', 'web:abc');
    await Promise.all(
      [1, 2, 3, 4, 5].map(() =>
        queues.enqueueSpawn({ buildId: 'b', sessionId: 's', correlationId: 'c' }, id),
      ),
    );
    expect(await queues.spawn.getJobCounts('wait')).toEqual({ wait: 1 });
  });

  it('coalesces status notifications: at most one waits per session', async () => {
    for (let i = 0; i < 10; i++) await queues.enqueueNotify({ kind: 'status', sessionId: 's1' });
    await queues.enqueueNotify({ kind: 'status', sessionId: 's2' });
    expect((await queues.notify.getJobCounts('wait')).wait).toBe(2);
  });

  it('runs the next status job after the active one when updates arrive meanwhile', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    runner = startWorkers(
      {
        notify: async (job: Job<NotifyJobData>) => {
          seen.push(job.id!);
          if (seen.length === 1) await gate;
        },
      },
      {
        redisUrl: TEST_REDIS_URL,
        prefix,
        concurrency: { notify: 4 },
        lockDurationMs: 5000,
        stalledIntervalMs: 5000,
      },
      silentLogger(),
    );
    await queues.enqueueNotify({ kind: 'status', sessionId: 's1' });
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 5; i++) await queues.enqueueNotify({ kind: 'status', sessionId: 's1' });
    release();
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(2); // the active one, then one for everything that came meanwhile
  });

  it('lets a running job finish on close, within the deadline', async () => {
    let finished = false;
    runner = startWorkers(
      {
        spawn: async () => {
          await new Promise((r) => setTimeout(r, 400));
          finished = true;
          return 'done';
        },
      },
      {
        redisUrl: TEST_REDIS_URL,
        prefix,
        concurrency: { spawn: 1 },
        lockDurationMs: 5000,
        stalledIntervalMs: 5000,
      },
      silentLogger(),
    );
    await queues.enqueueSpawn({ buildId: 'b', sessionId: 's', correlationId: 'c' }, 'spawn-graceful');
    while ((await queues.spawn.getJobCounts('active')).active === 0)
      await new Promise((r) => setTimeout(r, 20));
    await runner.close(5000);
    runner = undefined;
    expect(finished).toBe(true);
    expect((await queues.spawn.getJobCounts('completed')).completed).toBe(1);
  });

  it('gives up on a job still running at the deadline, leaving it to another worker', async () => {
    runner = startWorkers(
      { spawn: () => new Promise(() => {}) },
      {
        redisUrl: TEST_REDIS_URL,
        prefix,
        concurrency: { spawn: 1 },
        lockDurationMs: 5000,
        stalledIntervalMs: 5000,
      },
      silentLogger(),
    );
    await queues.enqueueSpawn({ buildId: 'b', sessionId: 's', correlationId: 'c' }, 'spawn-stuck');
    while ((await queues.spawn.getJobCounts('active')).active === 0)
      await new Promise((r) => setTimeout(r, 20));
    // The job never ends, so close() returning at all means it gave up at its deadline.
    await runner.close(300);
    runner = undefined;
    expect((await queues.spawn.getJobCounts('completed', 'failed')).completed).toBe(0);
  });

  it('schedules the reaper once, however many processes start', async () => {
    await Promise.all([queues.scheduleReaper(60_000), queues.scheduleReaper(60_000)]);
    const schedulers = await queues.reap.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: 'reaper', every: 60_000 });
  });
});
