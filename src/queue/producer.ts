import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from '../redis/connection.js';
import { type NotifyJobData, QUEUE_NAMES, type ReapJobData, type SpawnJobData } from './jobs.js';

export interface QueueSettings {
  prefix: string;
  spawnAttempts: number;
  spawnBackoffMs: number;
}

/** Producers of every queue, sharing one Redis connection. */
export interface Queues {
  readonly spawn: Queue<SpawnJobData>;
  readonly notify: Queue<NotifyJobData>;
  readonly reap: Queue<ReapJobData>;
  /** `delayMs`: the job waits that long before a worker may take it. */
  enqueueSpawn(data: SpawnJobData, jobId: string, delayMs?: number): Promise<void>;
  /** Status updates coalesce: at most one waits per session while another runs. */
  enqueueNotify(data: Extract<NotifyJobData, { kind: 'status' }>): Promise<void>;
  /**
   * Runs a session's pending status job now if it waits out a rate limit: a final state must
   * not queue behind a delayed progress edit (it has a budget of its own).
   */
  promoteNotify(sessionId: string): Promise<void>;
  /** Posts one message; a second call with the same `jobId` is ignored. */
  enqueuePost(data: Extract<NotifyJobData, { kind: 'post' }>, jobId: string): Promise<void>;
  enqueueReap(data: ReapJobData, jobId?: string): Promise<void>;
  /** Registers (or updates) the reaper's schedule. */
  scheduleReaper(everyMs: number): Promise<void>;
  /** Whether the reaper's schedule is in Redis (it is not after Redis lost its data). */
  reaperScheduled(): Promise<boolean>;
  close(): Promise<void>;
}

const REAPER_SCHEDULER_ID = 'reaper';
const KEEP_COMPLETED = { age: 24 * 3600, count: 2000 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5000 };

export function createQueues(redis: Redis, settings: QueueSettings): Queues {
  const opts = { connection: redis, prefix: settings.prefix };
  const spawnDefaults: JobsOptions = {
    attempts: settings.spawnAttempts,
    backoff: { type: 'exponential', delay: settings.spawnBackoffMs, jitter: 0.2 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
  const spawn = new Queue<SpawnJobData>(QUEUE_NAMES.spawn, { ...opts, defaultJobOptions: spawnDefaults });
  const notify = new Queue<NotifyJobData>(QUEUE_NAMES.notify, {
    ...opts,
    defaultJobOptions: {
      // Rate limits are waited out by delaying; these attempts cover outages of the platform.
      attempts: 8,
      backoff: { type: 'exponential', delay: 1000, jitter: 0.2 },
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600 },
    },
  });
  const reap = new Queue<ReapJobData>(QUEUE_NAMES.reap, {
    ...opts,
    defaultJobOptions: { attempts: 1, removeOnComplete: 100, removeOnFail: 500 },
  });
  for (const q of [spawn, notify, reap]) q.on('error', () => {});

  return {
    spawn,
    notify,
    reap,
    async enqueueSpawn(data, jobId, delayMs) {
      await spawn.add('spawn', data, { jobId, ...(delayMs ? { delay: delayMs } : {}) });
    },
    async enqueueNotify(data) {
      await notify.add('status', data, {
        deduplication: { id: `status-${data.sessionId}`, keepLastIfActive: true },
      });
    },
    async promoteNotify(sessionId) {
      const jobId = await notify.getDeduplicationJobId(`status-${sessionId}`);
      const job = jobId ? await notify.getJob(jobId) : undefined;
      // A delay the platform asked for (429 + Retry-After) is kept; only our own pacing yields.
      const held = job?.data.kind === 'status' && (job.data.holdUntil ?? 0) > Date.now();
      if (job && !held && (await job.isDelayed())) await job.promote().catch(() => {});
    },
    async enqueuePost(data, jobId) {
      await notify.add('post', data, { jobId, removeOnComplete: KEEP_COMPLETED });
    },
    async enqueueReap(data, jobId) {
      await reap.add(data.kind, data, jobId ? { jobId } : {});
    },
    async scheduleReaper(everyMs) {
      await reap.upsertJobScheduler(
        REAPER_SCHEDULER_ID,
        { every: everyMs },
        {
          name: 'sweep',
          data: { kind: 'sweep', reason: 'schedule' },
          opts: { removeOnComplete: 100, removeOnFail: 500 },
        },
      );
    },
    async reaperScheduled() {
      return (await reap.getJobScheduler(REAPER_SCHEDULER_ID)) !== undefined;
    },
    async close() {
      await Promise.all([spawn.close(), notify.close(), reap.close()]);
    },
  };
}
