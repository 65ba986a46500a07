import type { Redis } from '../../redis/connection.js';
import { HOUR_MS } from '../../util/time.js';

/** Render allows this many `POST /services` per hour per account. */
export const RENDER_CREATES_PER_HOUR = 20;
export const RENDER_CREATE_WINDOW_MS = HOUR_MS;

export interface BudgetState {
  /** Creations still allowed in the current window. */
  readonly remaining: number;
  /** When none are left: how long until the oldest one leaves the window. */
  readonly retryAfterMs: number;
}

/**
 * Counts service creations in a sliding window, shared by every worker (Redis), so SpawnAI
 * never sends Render a creation it would refuse, and can tell a person how long to wait.
 */
export interface CreateBudget {
  readonly max: number;
  /** Looks without claiming. */
  peek(): Promise<BudgetState>;
  /** Claims one creation; `allowed: false` (and nothing claimed) when the budget is spent. */
  take(): Promise<BudgetState & { readonly allowed: boolean }>;
}

const TAKE = `
local key, now, window, max, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= max then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return { 0, 0, tonumber(oldest[2]) + window - now }
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window)
return { 1, max - count - 1, 0 }
`;

const PEEK = `
local key, now, window, max = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= max then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return { 0, tonumber(oldest[2]) + window - now }
end
return { max - count, 0 }
`;

export function createRedisCreateBudget(
  redis: Redis,
  key: string,
  max: number = RENDER_CREATES_PER_HOUR,
  windowMs: number = RENDER_CREATE_WINDOW_MS,
): CreateBudget {
  let seq = 0;
  return {
    max,
    async peek() {
      const [remaining, retry] = (await redis.eval(
        PEEK,
        1,
        key,
        String(Date.now()),
        String(windowMs),
        String(max),
      )) as [number, number];
      return { remaining, retryAfterMs: Math.max(0, retry) };
    },
    async take() {
      const now = Date.now();
      const member = `${now}-${process.pid}-${seq++}`;
      const [allowed, remaining, retry] = (await redis.eval(
        TAKE,
        1,
        key,
        String(now),
        String(windowMs),
        String(max),
        member,
      )) as [number, number, number];
      return { allowed: allowed === 1, remaining, retryAfterMs: Math.max(0, retry) };
    },
  };
}

/** The same budget in this process only: for a single process without Redis (and tests). */
export function createMemoryCreateBudget(
  max: number = RENDER_CREATES_PER_HOUR,
  windowMs: number = RENDER_CREATE_WINDOW_MS,
): CreateBudget {
  const hits: number[] = [];
  const state = (now: number): BudgetState => {
    while (hits.length > 0 && hits[0]! <= now - windowMs) hits.shift();
    const remaining = Math.max(0, max - hits.length);
    return { remaining, retryAfterMs: remaining > 0 ? 0 : hits[0]! + windowMs - now };
  };
  return {
    max,
    async peek() {
      return state(Date.now());
    },
    async take() {
      const now = Date.now();
      const before = state(now);
      if (before.remaining === 0) return { ...before, allowed: false };
      hits.push(now);
      return { remaining: before.remaining - 1, retryAfterMs: 0, allowed: true };
    },
  };
}
