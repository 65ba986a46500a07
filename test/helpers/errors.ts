import { isSpawnError, type SpawnError } from '../../src/errors.js';

/** The SpawnError a promise rejects with; anything else (or no rejection) fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<SpawnError> {
  try {
    await promise;
  } catch (e) {
    if (isSpawnError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}
