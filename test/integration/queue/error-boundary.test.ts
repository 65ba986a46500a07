import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpawnError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { JobScope } from '../../../src/queue/error-boundary.js';
import type { SpawnJobData } from '../../../src/queue/jobs.js';
import { createQueues, type Queues } from '../../../src/queue/producer.js';
import { startWorkers, type WorkerRunner } from '../../../src/queue/worker-runner.js';
import { until } from '../../helpers/app.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';

/**
 * The worker's error boundary on the real Redis, through startWorkers as the app runs it:
 * each test's spawn queue under its own prefix (3 attempts, 50 ms exponential backoff).
 */
describe('job error boundary', () => {
  let prefix: string;
  let redis: Redis;
  let queues: Queues;
  let runner: WorkerRunner | undefined;
  const data: SpawnJobData = { buildId: 'b', sessionId: 's', correlationId: 'c' };

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
  });

  function run(handler: (job: Job<SpawnJobData>, scope: JobScope) => Promise<unknown>): void {
    runner = startWorkers(
      { spawn: handler },
      {
        redisUrl: TEST_REDIS_URL,
        prefix,
        concurrency: { spawn: 1 },
        lockDurationMs: 5000,
        stalledIntervalMs: 5000,
      },
      silentLogger(),
    );
  }

  async function finished(jobId: string): Promise<Job<SpawnJobData>> {
    await until(
      'the job finished',
      async () => ['completed', 'failed'].includes(await queues.spawn.getJobState(jobId)),
      20_000,
    );
    return (await queues.spawn.getJob(jobId))!;
  }

  /** The queue's `delayed` events for a job (BullMQ's events stream), in order. */
  async function delayedEvents(jobId: string): Promise<{ at: number; until: number }[]> {
    const entries = await redis.xrange(`${prefix}:spawn:events`, '-', '+');
    return entries.flatMap(([id, fields]) => {
      const f = Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]])));
      if (f.event !== 'delayed' || f.jobId !== jobId) return [];
      // The entry's id is Redis's clock when the job was delayed; `delay` is when it may run.
      return [{ at: Number(id.split('-')[0]), until: Number(f.delay) }];
    });
  }

  it('delays a rate-limited job by retryAfterMs without spending an attempt, then runs it again', async () => {
    const seen: { attemptsMade: number; attemptsStarted: number }[] = [];
    const waits: number[] = [];
    run(async (job, scope) => {
      seen.push({ attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted });
      scope.onError({
        delaying: async (_err, waitMs) => {
          waits.push(waitMs);
        },
      });
      if (seen.length === 1) throw new SpawnError('ERR_LLM_RATE_LIMITED', undefined, { retryAfterMs: 1500 });
      return 'done';
    });
    await queues.enqueueSpawn(data, 'spawn-limited');
    const job = await finished('spawn-limited');

    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBe('done');
    expect(waits).toEqual([1500]);
    // The second run saw no attempt spent; BullMQ counts the one that completed.
    expect(seen.map((s) => s.attemptsMade)).toEqual([0, 0]);
    expect(job.attemptsMade).toBe(1);
    expect(job.attemptsStarted).toBe(2);
    // In Redis: the job went to the delayed set once, due 1.5 s after it was moved there.
    const delayed = await delayedEvents('spawn-limited');
    expect(delayed).toHaveLength(1);
    const due = delayed[0]!.until - delayed[0]!.at;
    expect(due).toBeGreaterThan(1000);
    expect(due).toBeLessThanOrEqual(1500 + 50);
  });

  it('fails an invalid key at once: one attempt, the error message as the reason, no retries', async () => {
    let runs = 0;
    const failed: string[] = [];
    run(async (_job, scope) => {
      runs++;
      scope.onError({
        failed: async (err) => {
          failed.push(err.code);
        },
      });
      throw new SpawnError('ERR_LLM_AUTH');
    });
    await queues.enqueueSpawn(data, 'spawn-bad-key');
    const job = await finished('spawn-bad-key');

    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('The AI service rejected our credentials.');
    expect(runs).toBe(1);
    expect(failed).toEqual(['ERR_LLM_AUTH']);
    expect(await delayedEvents('spawn-bad-key')).toEqual([]);
  });

  it('fails invalid input at once too', async () => {
    run(async () => {
      throw new SpawnError('ERR_BUILD_INVALID', 'The generated app has no package.json.');
    });
    await queues.enqueueSpawn(data, 'spawn-invalid');
    const job = await finished('spawn-invalid');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('The generated app has no package.json.');
  });

  it('retries an outage with backoff until the attempts run out, then fails it once', async () => {
    const attempts: number[] = [];
    const finalAttempt: boolean[] = [];
    const hooks: string[] = [];
    run(async (_job, scope) => {
      attempts.push(scope.attempt);
      finalAttempt.push(scope.finalAttempt);
      scope.onError({
        retrying: async () => {
          hooks.push('retrying');
        },
        failed: async () => {
          hooks.push('failed');
        },
      });
      throw new SpawnError('ERR_LLM_UNAVAILABLE', undefined, { reached: true });
    });
    await queues.enqueueSpawn(data, 'spawn-outage');
    const job = await finished('spawn-outage');

    expect(await job.getState()).toBe('failed');
    expect(attempts).toEqual([1, 2, 3]);
    expect(finalAttempt).toEqual([false, false, true]);
    expect(job.attemptsMade).toBe(3);
    expect(job.failedReason).toBe('The AI service is unavailable right now.');
    expect(hooks).toEqual(['retrying', 'retrying', 'failed']);
    // Each retry waited in the delayed set for its backoff.
    expect(await delayedEvents('spawn-outage')).toHaveLength(2);
  });

  it('retries anything that is not one of our errors like an outage', async () => {
    let runs = 0;
    run(async () => {
      runs++;
      if (runs < 3) throw new Error('socket hang up');
      return 'done';
    });
    await queues.enqueueSpawn(data, 'spawn-unknown');
    const job = await finished('spawn-unknown');
    expect(await job.getState()).toBe('completed');
    expect(job.attemptsMade).toBe(3);
  });
});
