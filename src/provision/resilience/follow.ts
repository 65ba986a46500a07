import { SpawnError } from '../../errors.js';
import { sleep } from '../../util/time.js';
import { cancelledError } from '../wait.js';

/** First pause between two polls of a deployment's status; grows by {@link POLL_GROWTH}. */
export const POLL_FIRST_DELAY_MS = 250;
/** Longest pause between two polls of a deployment's status. */
export const POLL_MAX_DELAY_MS = 3_000;
const POLL_GROWTH = 1.5;

/** The pause before poll number `poll` (1, 2, ...): quick at first, then every few seconds. */
export function pollDelayMs(poll: number): number {
  return Math.round(Math.min(POLL_MAX_DELAY_MS, POLL_FIRST_DELAY_MS * POLL_GROWTH ** Math.max(0, poll - 1)));
}

export type DeployOutcome = 'pending' | 'succeeded' | 'failed';

export interface FollowOptions {
  /** "Railway"; used in messages. */
  readonly label: string;
  /** Reads the deployment's current status from the provider. */
  readonly read: (signal: AbortSignal) => Promise<string>;
  readonly outcome: (status: string) => DeployOutcome;
  /** Called once per status change (progress for the person waiting). */
  readonly onStatus: (status: string) => void;
  /** The error for a failed deployment (its status, and the provider's log when it has one). */
  readonly failure: (status: string, signal: AbortSignal) => Promise<SpawnError>;
  /** The caller's signal (the worker's deploy stage). */
  readonly signal: AbortSignal;
  /** The provider's own limit for one deployment. */
  readonly timeoutMs: number;
}

/**
 * Polls a deployment until it succeeds (resolves) or fails (rejects with the provider's
 * status and reason): quickly at first, then every few seconds.
 *
 * @throws SpawnError `ERR_DEPLOY_FAILED` when the provider reports a failure,
 * `ERR_DEPLOY_TIMEOUT` naming the last status when `timeoutMs` passes, or the caller's reason
 * when its signal aborts.
 */
export async function followDeployment(options: FollowOptions): Promise<string> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, deadline]);
  let last = 'unknown';
  const stopped = (): SpawnError => {
    if (options.signal.aborted)
      return cancelledError(options.signal, `following the ${options.label} deployment`);
    return new SpawnError(
      'ERR_DEPLOY_TIMEOUT',
      `${options.label} did not finish the deployment within ${Math.round(options.timeoutMs / 1000)} s (last status: ${last})`,
    );
  };
  for (let poll = 1; ; poll++) {
    let status: string;
    try {
      status = await options.read(signal);
    } catch (e) {
      if (signal.aborted) throw stopped();
      throw e;
    }
    if (status !== last) {
      last = status;
      options.onStatus(status);
    }
    const outcome = options.outcome(status);
    if (outcome === 'succeeded') return status;
    if (outcome === 'failed') throw await options.failure(status, options.signal);
    try {
      await sleep(pollDelayMs(poll), signal);
    } catch {
      throw stopped();
    }
  }
}
