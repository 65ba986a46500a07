import { expect } from 'vitest';
import { SpawnError } from '../../src/errors.js';

/** The SpawnError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function spawnErrorOf(p: Promise<unknown>): Promise<SpawnError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SpawnError);
    return e as SpawnError;
  }
  throw new Error('expected a SpawnError, and it succeeded');
}
