import { type Job, type Processor, Worker } from 'bullmq';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { createRedis, type Redis } from '../redis/connection.js';
import { inSpan } from '../tracing.js';
import { withCorrelation } from '../util/correlation.js';
import { sleep } from '../util/time.js';
import { type BoundaryOptions, type JobHandler, withErrorBoundary } from './error-boundary.js';
import type { JobDataByQueue, QueueName } from './jobs.js';

/** Why a job's signal aborts when its lock was lost. */
export const LOCK_LOST = 'the job lost its lock';

/** After cancelling running jobs at the deadline, how long they get to wind down. */
const CANCEL_GRACE_MS = 500;

/** The job handlers of each queue; every one runs inside the error boundary. */
export type Processors = { [Q in QueueName]?: JobHandler<JobDataByQueue[Q]> };

/**
 * How each queue waits out rate limits. `maxDelays`: waits a job may take before a rate limit
 * spends an attempt, so a limit that never lifts still ends a build. Status cards wait out the
 * platform for as long as it asks (their final states must arrive), never less than 250 ms.
 */
const RATE_LIMIT_POLICY: Record<QueueName, Pick<BoundaryOptions, 'maxDelays' | 'minWaitMs'>> = {
  inbound: { maxDelays: 20 },
  spawn: { maxDelays: 20 },
  notify: { minWaitMs: 250 },
  reap: { maxDelays: 20 },
};

export interface WorkerSettings {
  redisUrl: string;
  prefix: string;
  concurrency: Partial<Record<QueueName, number>>;
  /** A job whose worker stops renewing its lock for this long is handed to another worker. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  metrics?: Metrics | undefined;
}

export interface WorkerRunner {
  readonly workers: readonly Worker[];
  /**
   * Stops taking jobs, lets running ones finish for up to `deadlineMs`, then closes
   * connections. Jobs still running at the deadline are left to stalled-job recovery.
   */
  close(deadlineMs: number): Promise<void>;
}

export function startWorkers(processors: Processors, settings: WorkerSettings, logger: Logger): WorkerRunner {
  const connections: Redis[] = [];
  const workers: Worker[] = [];
  for (const [name, handler] of Object.entries(processors) as [QueueName, JobHandler<unknown>][]) {
    const connection = createRedis(settings.redisUrl, 'worker', logger);
    connections.push(connection);
    const processor = withErrorBoundary(handler, { queue: name, logger, ...RATE_LIMIT_POLICY[name] });
    // Each job runs under its request's correlation id (the platform event id).
    const correlated: Processor = (job, token, signal) =>
      withCorrelation(correlationOf(job), () =>
        inSpan(
          `job ${name}`,
          { 'spawnai.queue': name, 'spawnai.job_id': job.id ?? '', 'spawnai.attempt': job.attemptsMade + 1 },
          () => processor(job, token, signal),
          (job.data as { trace?: Record<string, string> } | undefined)?.trace,
        ),
      );
    const worker = new Worker(name, correlated, {
      connection,
      prefix: settings.prefix,
      concurrency: settings.concurrency[name] ?? 1,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      // A worker killed mid-job counts as one stall; allow a few before giving up on the job.
      maxStalledCount: 3,
    });
    worker.on('error', (err) => logger.error({ err: err.message, queue: name }, 'worker error'));
    worker.on('failed', (job: Job | undefined, err) =>
      logger.warn(
        { queue: name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: err.message },
        'job attempt failed',
      ),
    );
    // The job's record or lock is gone (Redis lost its data, or the job was handed to another
    // worker as stalled): running on would do it twice. It stops; the reaper re-queues it.
    worker.on('lockRenewalFailed', (jobIds: string[]) => {
      for (const jobId of jobIds) {
        if (worker.cancelJob(jobId, LOCK_LOST)) {
          logger.warn({ queue: name, jobId }, 'job lost its lock; stopped it so it runs once, elsewhere');
        }
      }
    });
    worker.on('stalled', (jobId) =>
      logger.warn({ queue: name, jobId }, 'job stalled; handed to another worker'),
    );
    if (settings.metrics) observeJobs(worker, name, settings.metrics);
    workers.push(worker);
  }
  logger.info({ queues: Object.keys(processors) }, 'workers started');

  return {
    workers,
    async close(deadlineMs) {
      const graceful = Promise.all(workers.map((w) => w.close())).then(() => true);
      if (await Promise.race([graceful, sleep(deadlineMs).then(() => false)])) {
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
        return;
      }
      // Past the deadline: tell running jobs to stop (processors get an AbortSignal), give them a
      // moment, then cut the connections. Their locks lapse and another worker picks them up.
      logger.warn(
        { deadlineMs },
        'jobs still running at the shutdown deadline; leaving them to another worker',
      );
      for (const w of workers) w.cancelAllJobs('the worker is shutting down');
      await Promise.race([graceful, sleep(CANCEL_GRACE_MS)]);
      for (const c of connections) c.disconnect();
    },
  };
}

/** Wait time (added -> taken) and processing time (taken -> finished) of every job. */
function observeJobs(worker: Worker, queue: QueueName, metrics: Metrics): void {
  worker.on('active', (job: Job) => {
    if (job.processedOn)
      metrics.queueWait.observe({ queue }, Math.max(0, job.processedOn - job.timestamp) / 1000);
  });
  const processed = (job: Job | undefined, outcome: string) => {
    if (job?.processedOn && job.finishedOn) {
      metrics.queueProcessing.observe({ queue, outcome }, (job.finishedOn - job.processedOn) / 1000);
    }
  };
  worker.on('completed', (job: Job) => processed(job, 'completed'));
  worker.on('failed', (job: Job | undefined) => processed(job, 'failed'));
}

function correlationOf(job: Job): string {
  const data = job.data as { correlationId?: unknown } | undefined;
  return typeof data?.correlationId === 'string' ? data.correlationId : `job-${job.id ?? 'unknown'}`;
}
