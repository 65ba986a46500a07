import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MemorySlidingWindowLimiter,
  type RateLimiter,
  SlidingWindowLimiter,
} from '../../../src/lib/rate-limiter.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';

const prefix = `test-rl-${process.pid}-${Date.now()}`;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true });

afterAll(async () => {
  await cleanupPrefix(prefix);
  redis.disconnect();
});

/** The same behaviour from both limiters, with the time passed in (no waiting). */
function behaves(name: string, make: () => RateLimiter) {
  describe(name, () => {
    it('allows max hits per window, then says how long until the oldest leaves', async () => {
      const l = make();
      const t0 = 1_000_000;
      expect(await l.hit('a', 2, 10_000, t0)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
      expect(await l.hit('a', 2, 10_000, t0 + 1000)).toEqual({
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
      expect(await l.hit('a', 2, 10_000, t0 + 4000)).toEqual({
        allowed: false,
        remaining: 0,
        retryAfterMs: 6000,
      });
      expect(await l.peek('a', 2, 10_000, t0 + 4000)).toEqual({ remaining: 0, retryAfterMs: 6000 });
    });

    it('slides: a hit leaves the window windowMs after it was made', async () => {
      const l = make();
      const t0 = 2_000_000;
      await l.hit('b', 1, 5000, t0);
      expect((await l.hit('b', 1, 5000, t0 + 4999)).allowed).toBe(false);
      expect((await l.hit('b', 1, 5000, t0 + 5000)).allowed).toBe(true);
    });

    it('a refused hit claims nothing, a peek claims nothing, and keys are separate', async () => {
      const l = make();
      const t0 = 3_000_000;
      await l.hit('c', 1, 5000, t0);
      await l.hit('c', 1, 5000, t0 + 100);
      expect(await l.peek('c', 1, 5000, t0 + 100)).toEqual({ remaining: 0, retryAfterMs: 4900 });
      expect((await l.hit('c', 1, 5000, t0 + 5000)).allowed).toBe(true);
      expect(await l.peek('d', 3, 5000, t0)).toEqual({ remaining: 3, retryAfterMs: 0 });
      expect((await l.hit('d', 3, 5000, t0)).remaining).toBe(2);
    });
  });
}

behaves('MemorySlidingWindowLimiter', () => new MemorySlidingWindowLimiter(() => 0));
let run = 0;
behaves('SlidingWindowLimiter (Redis)', () => new SlidingWindowLimiter(redis, `${prefix}:${run++}`));

describe('SlidingWindowLimiter keys', () => {
  it('stores under <prefix>:rl:<key>, or the key as given without a prefix', async () => {
    const now = Date.now();
    await new SlidingWindowLimiter(redis, prefix).hit('k', 5, 60_000, now);
    await new SlidingWindowLimiter(redis).hit(`${prefix}:raw`, 5, 60_000, now);
    expect(await redis.zcard(`${prefix}:rl:k`)).toBe(1);
    expect(await redis.zcard(`${prefix}:raw`)).toBe(1);
  });
});
