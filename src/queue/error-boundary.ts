import { DelayedError, type Job, type Processor, UnrecoverableError } from 'bullmq';
import { describeError, isSpawnError, reachedNote, type SpawnError, toSpawnError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * The one place that gives our error kinds their meaning for a BullMQ job (STYLE rule 4).
 * Every processor runs inside it (worker-runner wraps each one); none maps errors itself.
 *
 * - `auth`, `permission`, `invalid`, `not_found`, `budget`: retrying changes nothing. The job
 *   fails at once with the error's message (UnrecoverableError), whatever attempts are left.
 * - `rate_limited`: the other side said when to come back. The job is moved to the delayed set
 *   for exactly `retryAfterMs` and ends with DelayedError, which BullMQ does not count as an
 *   attempt (moveToDelayed passes skipAttempt, so `attemptsMade` stays as it was).
 *   https://docs.bullmq.io/patterns/process-step-jobs#delaying
 *   https://docs.bullmq.io/patterns/stop-retrying-jobs
 * - `unavailable` and anything that is not a SpawnError: an ordinary failed attempt, retried
 *   with the queue's backoff until the attempts run out.
 *
 * A job whose signal aborted (shutdown, lost lock) is left as it is: its next run, on this or
 * another worker, takes it up, so nothing is told and nothing is marked failed.
 */

/** What a processor may do about an error of its job before the boundary acts on it. */
export interface ErrorHooks {
  /** The job waits `waitMs` (a rate limit) and runs again without spending an attempt. */
  delaying?(err: SpawnError, waitMs: number): Promise<void>;
  /** The attempt failed and the job runs again after its backoff. */
  retrying?(err: SpawnError): Promise<void>;
  /** The job failed for good: the final state in the database and the person's last message. */
  failed?(err: SpawnError): Promise<void>;
}

/** One run of a job, as its handler sees it. */
export interface JobScope {
  readonly token: string | undefined;
  readonly signal: AbortSignal | undefined;
  /** This attempt's number, from 1; a rate-limit delay does not move it on. */
  readonly attempt: number;
  /** No attempt follows this one if it fails with a retryable error. */
  readonly finalAttempt: boolean;
  /** Registers what to do when this run ends in an error; a later call replaces an earlier one. */
  onError(hooks: ErrorHooks): void;
}

export type JobHandler<D, R = unknown> = (job: Job<D>, scope: JobScope) => Promise<R>;

export interface BoundaryOptions {
  /** The queue, for log lines. */
  readonly queue: string;
  readonly logger: Logger;
  /**
   * Rate-limit waits one job may take before a rate limit spends an attempt like an outage
   * (so a limit that never lifts still ends the job). Default: no bound.
   */
  readonly maxDelays?: number;
  /** The wait when a rate limit did not say how long. Default {@link DEFAULT_RATE_LIMIT_WAIT_MS}. */
  readonly defaultWaitMs?: number;
  /** The shortest wait, against a platform that says "retry after 0". Default 0. */
  readonly minWaitMs?: number;
}

export const DEFAULT_RATE_LIMIT_WAIT_MS = 1000;

/** What the boundary decided about one error. */
export type Verdict =
  | { readonly action: 'delay'; readonly waitMs: number }
  | { readonly action: 'retry' }
  | { readonly action: 'fail' };

/** Decides what an error means for a job on its `attempt` of `attempts`, after `delays` waits. */
export function verdictFor(
  err: SpawnError,
  state: { attempt: number; attempts: number; delays: number },
  options: Pick<BoundaryOptions, 'maxDelays' | 'defaultWaitMs' | 'minWaitMs'> = {},
): Verdict {
  if (err.kind === 'rate_limited' && state.delays < (options.maxDelays ?? Number.POSITIVE_INFINITY)) {
    const asked = err.retryAfterMs ?? options.defaultWaitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS;
    return { action: 'delay', waitMs: Math.max(asked, options.minWaitMs ?? 0) };
  }
  if (!err.retryable) return { action: 'fail' };
  return state.attempt < state.attempts ? { action: 'retry' } : { action: 'fail' };
}

/** Wraps a handler into a BullMQ processor that runs it inside the boundary. */
export function withErrorBoundary<D, R>(
  handler: JobHandler<D, R>,
  options: BoundaryOptions,
): Processor<D, R> {
  return async (job: Job<D>, token?: string, signal?: AbortSignal): Promise<R> => {
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    let hooks: ErrorHooks = {};
    const scope: JobScope = {
      token,
      signal,
      attempt,
      finalAttempt: attempt >= attempts,
      onError(h) {
        hooks = h;
      },
    };
    try {
      return await handler(job, scope);
    } catch (e) {
      if (signal?.aborted) throw e;
      const err = toSpawnError(e);
      const log = options.logger.child({ queue: options.queue, jobId: job.id });
      const fields = {
        code: err.code,
        kind: err.kind,
        ...(err.reached !== undefined ? { reached: err.reached } : {}),
        attempt,
        attempts,
        err: describeError(e),
        ...(causeOf(err) ? { cause: causeOf(err) } : {}),
      };
      // Starts beyond the attempts made and this one: runs that were delayed (or stalled).
      const delays = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
      const verdict = verdictFor(err, { attempt, attempts, delays }, options);
      if (verdict.action === 'delay') {
        log.info(
          { ...fields, waitMs: verdict.waitMs, delays },
          'rate limited; job delayed without using an attempt',
        );
        await runHook(log, 'delaying', () => hooks.delaying?.(err, verdict.waitMs));
        await job.moveToDelayed(Date.now() + verdict.waitMs, token);
        throw new DelayedError();
      }
      if (verdict.action === 'retry') {
        log.warn(fields, `attempt failed${reachedNote(err)}; will retry with backoff`);
        await runHook(log, 'retrying', () => hooks.retrying?.(err));
        throw e;
      }
      log.error(
        fields,
        isSpawnError(e) && !err.retryable ? 'job failed; not retryable' : 'job failed; no attempts left',
      );
      await runHook(log, 'failed', () => hooks.failed?.(err));
      // Not retryable: no further attempts, whatever is left. Out of attempts: the original
      // error, so BullMQ keeps its stack trace.
      if (!err.retryable) throw new UnrecoverableError(err.message);
      throw e;
    }
  };
}

/**
 * A hook that fails does not change the verdict: the job still delays, retries or fails as
 * decided (a build left unfinished in the database is recovered by the reaper).
 */
async function runHook(log: Logger, name: string, hook: () => Promise<void> | undefined): Promise<void> {
  try {
    await hook();
  } catch (e) {
    log.error({ hook: name, err: describeError(e) }, 'error hook failed');
  }
}

function causeOf(e: Error): string | undefined {
  const cause = (e as { cause?: unknown }).cause;
  if (cause === undefined) return undefined;
  return cause instanceof Error ? cause.message : String(cause);
}
