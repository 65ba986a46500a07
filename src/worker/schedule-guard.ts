import type { Logger } from '../log.js';
import type { Queues } from '../queue/producer.js';
import type { Redis } from '../redis/connection.js';

/** How often a worker checks that Redis still holds its schedules (at most: a quarter reaper period). */
export const SCHEDULE_CHECK_INTERVAL_MS = 5000;

export interface ScheduleGuardOptions {
  redis: Redis;
  prefix: string;
  queues: Queues;
  reaperIntervalMs: number;
  logger: Logger;
  /** Default: {@link SCHEDULE_CHECK_INTERVAL_MS}, or a quarter reaper period if that is shorter. */
  checkIntervalMs?: number;
}

export interface ScheduleGuard {
  stop(): void;
}

/**
 * Registers the reaper's schedule and keeps it there. Redis restarted without persistence (or
 * flushed) forgets the schedule and every queued job, and nothing in BullMQ says so: a session
 * whose job went with it would wait for ever. A marker key that vanishes tells; the first worker
 * to notice puts the schedule back and runs a sweep that re-queues every build without a job.
 */
export async function startScheduleGuard(options: ScheduleGuardOptions): Promise<ScheduleGuard> {
  const { redis, queues, logger } = options;
  const marker = `${options.prefix}:schedules-marker`;
  const every =
    options.checkIntervalMs ?? Math.min(SCHEDULE_CHECK_INTERVAL_MS, Math.floor(options.reaperIntervalMs / 4));
  await queues.scheduleReaper(options.reaperIntervalMs);
  // Set after the schedule: a marker in Redis means the schedule was put there after its last loss.
  await redis.set(marker, new Date().toISOString());

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  async function check(): Promise<void> {
    const [markerKept, scheduled] = await Promise.all([redis.exists(marker), queues.reaperScheduled()]);
    if (markerKept === 1 && scheduled) return;
    await queues.scheduleReaper(options.reaperIntervalMs);
    // Only the first worker to notice leads the recovery; the others just restored the schedule.
    const first = markerKept === 0 && (await redis.set(marker, new Date().toISOString(), 'NX')) === 'OK';
    if (!first) {
      if (!scheduled) logger.warn('the reaper schedule was missing from Redis; restored it');
      return;
    }
    logger.warn(
      'Redis lost its data (restarted without persistence, or flushed): restored the schedules; queuing again the builds whose jobs were lost',
    );
    await queues.enqueueReap({ kind: 'sweep', reason: 'redis-reset' });
  }

  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      check()
        .then(() => {
          if (failing) logger.info('Redis answers again; schedules checked');
          failing = false;
        })
        .catch((e: unknown) => {
          // Redis is down or restarting: the next check, once it answers, finds what was lost.
          if (!failing)
            logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not check the schedules');
          failing = true;
        })
        .finally(loop);
    }, every);
    timer.unref();
  };
  loop();

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
