import { describe, expect, it } from 'vitest';
import { SpawnError } from '../../../src/errors.js';
import { verdictFor } from '../../../src/queue/error-boundary.js';

const first = { attempt: 1, attempts: 3, delays: 0 };

describe('what an error means for a job', () => {
  it('waits out a rate limit for as long as it asked, or a default, never under the floor', () => {
    const limited = (ms?: number) =>
      new SpawnError('ERR_PLATFORM_RATE_LIMITED', undefined, ms === undefined ? {} : { retryAfterMs: ms });
    expect(verdictFor(limited(1500), first)).toEqual({ action: 'delay', waitMs: 1500 });
    expect(verdictFor(limited(), first)).toEqual({ action: 'delay', waitMs: 1000 });
    expect(verdictFor(limited(0), first, { minWaitMs: 250 })).toEqual({ action: 'delay', waitMs: 250 });
    // On the last attempt too: a wait is not an attempt.
    expect(verdictFor(limited(1500), { ...first, attempt: 3 })).toEqual({ action: 'delay', waitMs: 1500 });
  });

  it('spends attempts on a rate limit that keeps coming back past the bound', () => {
    const limited = new SpawnError('ERR_LLM_RATE_LIMITED', undefined, { retryAfterMs: 1500 });
    expect(verdictFor(limited, { ...first, delays: 20 }, { maxDelays: 20 })).toEqual({ action: 'retry' });
    expect(verdictFor(limited, { attempt: 3, attempts: 3, delays: 20 }, { maxDelays: 20 })).toEqual({
      action: 'fail',
    });
  });

  it('fails what retrying cannot fix at once, and outages only when the attempts are spent', () => {
    for (const code of [
      'ERR_LLM_AUTH',
      'ERR_NOT_OWNER',
      'ERR_BUILD_INVALID',
      'ERR_NOT_FOUND',
      'ERR_QUOTA_BUILDS',
    ] as const) {
      expect(verdictFor(new SpawnError(code), first)).toEqual({ action: 'fail' });
    }
    const outage = new SpawnError('ERR_LLM_UNAVAILABLE', undefined, { reached: false });
    expect(verdictFor(outage, first)).toEqual({ action: 'retry' });
    expect(verdictFor(outage, { ...first, attempt: 3 })).toEqual({ action: 'fail' });
  });
});
