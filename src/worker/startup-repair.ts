/**
 * Self-repair, as the worker sees it: which failures go back to the builder (any SpawnError
 * carrying a StartupFailure, from whichever provider), and what the person reads about it.
 */
import { SpawnError, type StartupFailure } from '../errors.js';

/** The preview wait ends this long before the deploy stage, so its own reason is the one reported. */
export const PREVIEW_WAIT_MARGIN_MS = 500;

/**
 * A preview that never answered 200 is a start-up failure whatever the provider: the check
 * goes to a repair turn (the provider's log, when it has one, came with its own error).
 */
export function previewFailed(e: unknown, signal: AbortSignal): unknown {
  if (!(e instanceof SpawnError) || e.code !== 'ERR_DEPLOY_TIMEOUT' || signal.aborted) return e;
  return new SpawnError('ERR_DEPLOY_TIMEOUT', e.message, {
    cause: e,
    startup: { check: e.message, logTail: [] },
  });
}

/** The app still does not start after the plan's repairs: the build ends, with the reason. */
export function stillBroken(startup: StartupFailure, repairs: number): SpawnError {
  const check = startup.check.split('\n')[0]!.replace(/[.\s]+$/, '');
  const tried =
    repairs === 0 ? '' : ` ${repairs === 1 ? 'One attempt' : `${repairs} attempts`} to fix it did not help.`;
  return new SpawnError('ERR_DEPLOY_FAILED', `the app did not start after ${repairs} repairs: ${check}`, {
    startup,
    userMessage: `The app was built but did not start (${check}).${tried}`,
  });
}

/** The card's line while a repair runs: "fixing a start-up error (1/2)". */
export function repairLabel(attempt: number, bound: number): string {
  return `fixing a start-up error (${attempt}/${bound})`;
}

/** Said with the result when the app went live only after repairs. */
export function repairedNote(repairs: number): string {
  return `It did not start at first; Claude fixed it (${repairs} ${repairs === 1 ? 'repair' : 'repairs'}).`;
}
