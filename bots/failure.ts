import type { ReplyView } from '../src/core/view.js';
import { toSpawnError } from '../src/errors.js';

const TRY_AGAIN = 'I could not handle that just now. Please try again in a moment.';

/**
 * What a person is told when their message or press could not be handled, on every platform:
 * a failure of ours (or of a service we use) is "try again"; an error meant for them (a limit,
 * a bad argument) says what it is.
 */
export function failureView(e?: unknown, options: { readonly ephemeral?: boolean } = {}): ReplyView {
  const err = e === undefined ? undefined : toSpawnError(e);
  return {
    tone: 'error',
    title: 'Something went wrong',
    text: err && err.kind !== 'unavailable' ? err.userMessage : TRY_AGAIN,
    ephemeral: options.ephemeral ?? true,
  };
}
