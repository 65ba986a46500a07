import type { Job } from 'bullmq';
import { type InboundContext, type InboundHandler, inInbound } from '../core/inbound-handler.js';
import type { Logger } from '../log.js';
import type { JobHandler } from '../queue/error-boundary.js';
import type { InboundJobData, InboundSource } from '../queue/jobs.js';
import type { Redis } from '../redis/connection.js';

export interface InboundProcessorDeps {
  readonly handlers: ReadonlyMap<InboundSource, InboundHandler>;
  readonly redis: Redis;
  readonly prefix: string;
  /** How long "told" marks are kept (as long as the handled job). */
  readonly keepS: number;
  readonly logger: Logger;
}

/**
 * Runs each `inbound` job through its platform's handler. A handler throws; the worker's error
 * boundary decides what that means (retry with backoff, wait out a rate limit, or end at once).
 */
export function createInboundProcessor(deps: InboundProcessorDeps): JobHandler<InboundJobData> {
  const { redis, prefix, keepS } = deps;
  return async (job: Job<InboundJobData>, scope) => {
    const handler = deps.handlers.get(job.data.source);
    const logger = deps.logger.child({ source: job.data.source, kind: job.name, jobId: job.id });
    if (!handler) {
      // A process without that platform configured: leave it to one that has it.
      throw new Error(`no handler for ${job.data.source} deliveries in this worker`);
    }
    const jobId = job.id ?? '';
    const ctx: InboundContext = {
      data: job.data,
      jobId,
      attempt: scope.attempt,
      finalAttempt: scope.finalAttempt,
      logger,
      async once(key, send) {
        const mark = `${prefix}:told:${jobId}:${key}`;
        if ((await redis.set(mark, '1', 'EX', keepS, 'NX')) !== 'OK') return;
        try {
          await send();
        } catch (e) {
          await redis.del(mark).catch(() => {});
          throw e;
        }
      },
    };
    return inInbound(ctx, () => handler(ctx));
  };
}
