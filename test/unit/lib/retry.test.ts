import { afterEach, describe, expect, it, vi } from 'vitest';
import { SpawnError } from '../../../src/errors.js';
import {
  backoffMs,
  RETRY_MAX_DELAY_MS,
  rateLimitDelay,
  retry,
  retryableSpawnErrorDelay,
} from '../../../src/lib/retry.js';

/** A sleep that records the waits and returns at once. */
function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

/** A call that fails with the given errors in turn, then answers 'ok'. */
function failing(...errors: unknown[]) {
  const calls: number[] = [];
  return {
    calls,
    fn: async (attempt: number) => {
      calls.push(attempt);
      const e = errors.shift();
      if (e !== undefined) throw e;
      return 'ok';
    },
  };
}

const unavailable = () => new SpawnError('ERR_PLATFORM_UNAVAILABLE');
const limited = (ms?: number) =>
  new SpawnError('ERR_PLATFORM_RATE_LIMITED', undefined, ms === undefined ? {} : { retryAfterMs: ms });

describe('backoffMs', () => {
  it('doubles per attempt with jitter (50-100 % of the step), up to a cap', () => {
    expect(backoffMs(1, () => 1)).toBe(250);
    expect(backoffMs(1, () => 0)).toBe(125);
    expect(backoffMs(3, () => 1)).toBe(1000);
    expect(backoffMs(30, () => 1)).toBe(RETRY_MAX_DELAY_MS);
    expect(backoffMs(2, () => 1, 100, 150)).toBe(150);
  });
});

describe('retry', () => {
  it('retries retryable SpawnErrors with backoff, then answers', async () => {
    const r = recorder();
    const call = failing(unavailable(), unavailable());
    await expect(retry(call.fn, { attempts: 3, sleep: r.sleep })).resolves.toBe('ok');
    expect(call.calls).toEqual([1, 2, 3]);
    expect(r.waits).toHaveLength(2);
    expect(r.waits[1]!).toBeGreaterThanOrEqual(250);
  });

  it('waits out the delay a rate limit names', async () => {
    const r = recorder();
    const call = failing(limited(1234));
    await retry(call.fn, { attempts: 2, sleep: r.sleep });
    expect(r.waits).toEqual([1234]);
  });

  it('gives up after the attempts, throwing the last error as it was', async () => {
    const r = recorder();
    const last = unavailable();
    const call = failing(unavailable(), last);
    await expect(retry(call.fn, { attempts: 2, sleep: r.sleep })).rejects.toBe(last);
    expect(call.calls).toEqual([1, 2]);
  });

  it('does not retry what cannot get better', async () => {
    const r = recorder();
    const auth = new SpawnError('ERR_PLATFORM_AUTH');
    const call = failing(auth);
    await expect(retry(call.fn, { attempts: 5, sleep: r.sleep })).rejects.toBe(auth);
    const plain = new Error('boom');
    await expect(retry(failing(plain).fn, { attempts: 5, sleep: r.sleep })).rejects.toBe(plain);
    expect(r.waits).toEqual([]);
  });

  it('hands a wait longer than maxWaitMs to the caller instead of sitting it out', async () => {
    const r = recorder();
    const long = limited(60_000);
    const call = failing(long);
    await expect(
      retry(call.fn, { attempts: 3, maxWaitMs: 15_000, delay: rateLimitDelay, sleep: r.sleep }),
    ).rejects.toBe(long);
    expect(r.waits).toEqual([]);
  });

  it('uses the policy delay and reports each retry', async () => {
    const r = recorder();
    const seen: number[] = [];
    const call = failing(new Error('a'), new Error('b'));
    await retry(call.fn, {
      attempts: 3,
      delay: (_e, attempt) => attempt * 10,
      onRetry: (info) => seen.push(info.attempt),
      sleep: r.sleep,
    });
    expect(r.waits).toEqual([10, 20]);
    expect(seen).toEqual([1, 2]);
  });

  it('stops with the signal reason when aborted while waiting', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const call = failing(unavailable(), unavailable());
    const pending = retry(call.fn, {
      attempts: 3,
      signal: controller.signal,
      sleep: async (_ms, signal) => {
        controller.abort(reason);
        signal?.throwIfAborted();
      },
    });
    await expect(pending).rejects.toBe(reason);
    expect(call.calls).toEqual([1]);
  });
});

describe('delays', () => {
  it('rateLimitDelay: the named delay, 1 s when none, nothing for other errors', () => {
    expect(rateLimitDelay(limited(500))).toBe(500);
    expect(rateLimitDelay(limited())).toBe(1000);
    expect(rateLimitDelay(unavailable())).toBeUndefined();
    expect(rateLimitDelay(new Error('x'))).toBeUndefined();
  });

  it('retryableSpawnErrorDelay: rate limits and outages only', () => {
    expect(retryableSpawnErrorDelay(limited(700), 1)).toBe(700);
    expect(retryableSpawnErrorDelay(unavailable(), 1)).toBeGreaterThan(0);
    expect(retryableSpawnErrorDelay(new SpawnError('ERR_NOT_FOUND'), 1)).toBeUndefined();
  });
});

describe('retry with real timers faked', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits with the default timer between attempts', async () => {
    vi.useFakeTimers();
    const call = failing(limited(1000));
    let result: string | undefined;
    const p = retry(call.fn, { attempts: 2 }).then((r) => {
      result = r;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(result).toBeUndefined();
    expect(call.calls).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(result).toBe('ok');
    expect(call.calls).toEqual([1, 2]);
  });
});
