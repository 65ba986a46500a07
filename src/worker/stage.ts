import { type ErrorCode, SpawnError } from '../errors.js';

/**
 * Runs one pipeline stage with its own deadline. The stage's signal aborts when the deadline
 * passes or the job is cancelled; the stage rejects with `timeoutCode` on the deadline even if
 * the work ignores its signal.
 */
export async function runStage<T>(
  timeoutMs: number,
  timeoutCode: ErrorCode,
  parent: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new SpawnError(timeoutCode, undefined, {
        userMessage: `${new SpawnError(timeoutCode).userMessage.replace(/\.$/, '')} (limit ${Math.round(timeoutMs / 1000)} s).`,
      });
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParentAbort);
  }
}
