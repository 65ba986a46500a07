import type { Redis } from '../redis/connection.js';

/**
 * A sliding-window counter in Redis, shared by every process: at most `max` hits per
 * `windowMs` per key. The check and the hit are one atomic script.
 */
const SLIDING_WINDOW = `
local key, now, window, max, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= max then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return { 0, tonumber(oldest[2]) + window - now }
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window)
return { 1, 0 }
`;

export interface RateDecision {
  readonly allowed: boolean;
  /** When refused: how long until the oldest hit leaves the window. */
  readonly retryAfterMs: number;
}

export class SlidingWindowLimiter {
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, max: number, windowMs: number, now = Date.now()): Promise<RateDecision> {
    const member = `${now}-${process.pid}-${this.seq++}`;
    const [allowed, retry] = (await this.redis.eval(
      SLIDING_WINDOW,
      1,
      `${this.prefix}:rl:${key}`,
      String(now),
      String(windowMs),
      String(max),
      member,
    )) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: Math.max(0, retry) };
  }
}
