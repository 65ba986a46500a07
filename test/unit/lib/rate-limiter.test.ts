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
      // The Redis limiter also names each counted hit (`member`, for settle).
      expect(await l.hit('a', 2, 10_000, t0)).toMatchObject({ allowed: true, remaining: 1, retryAfterMs: 0 });
      expect(await l.hit('a', 2, 10_000, t0 + 1000)).toMatchObject({
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
      expect(await l.hit('a', 2, 10_000, t0 + 4000)).toStrictEqual({
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

describe('SlidingWindowLimiter settle', () => {
  it('counts a hit from when it was answered: it leaves the window that much later', async () => {
    const l = new SlidingWindowLimiter(redis, `${prefix}:settle`);
    const t0 = 5_000_000;
    const first = await l.hit('s', 1, 1500, t0);
    expect(first.member).toEqual(expect.any(String));
    // Taken at t0, answered 800 ms later (a busy event loop, a slow network).
    await l.settle('s', first.member!, 1500, t0 + 800);
    expect(await l.peek('s', 1, 1500, t0 + 1500)).toEqual({ remaining: 0, retryAfterMs: 800 });
    expect((await l.hit('s', 1, 1500, t0 + 2299)).allowed).toBe(false);
    expect((await l.hit('s', 1, 1500, t0 + 2300)).allowed).toBe(true);
  });

  it('never moves a hit earlier, and ignores one that left the window', async () => {
    const l = new SlidingWindowLimiter(redis, `${prefix}:settle2`);
    const t0 = 6_000_000;
    const { member } = await l.hit('e', 1, 1000, t0);
    await l.settle('e', member!, 1000, t0 - 500);
    expect(await l.peek('e', 1, 1000, t0 + 999)).toEqual({ remaining: 0, retryAfterMs: 1 });
    await l.settle('gone', 'no-such-hit', 1000, t0);
    expect(await redis.exists(`${prefix}:settle2:rl:gone`)).toBe(0);
  });
});
