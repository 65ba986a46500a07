/**
 * The one sliding-window rate limiter: at most `max` hits per `windowMs` per key. In Redis
 * (shared by every process; the check and the hit are one atomic script) or in this process
 * only (a single process without Redis, and tests).
 */

/** The part of a Redis client the limiter uses (ioredis' `eval`). */
export interface RedisScripting {
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

export interface RateWindow {
  /** Hits still allowed in the current window. */
  readonly remaining: number;
  /** When none are left: how long until the oldest hit leaves the window; else 0. */
  readonly retryAfterMs: number;
}

export interface RateDecision extends RateWindow {
  /** Whether this hit was counted; a refused hit claims nothing. */
  readonly allowed: boolean;
  /** The counted hit's name in its window, for `settle` (Redis limiter only). */
  readonly member?: string;
}

export interface RateLimiter {
  /** Counts one hit unless the window is full. */
  hit(key: string, max: number, windowMs: number, now?: number): Promise<RateDecision>;
  /** Looks without counting. */
  peek(key: string, max: number, windowMs: number, now?: number): Promise<RateWindow>;
}

const HIT = `
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

/** Moves a counted hit to a later time (never earlier), if it is still in the window. */
const SETTLE = `
local key, member, at, window = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local score = redis.call('ZSCORE', key, member)
if score and tonumber(score) < at then
  redis.call('ZADD', key, 'XX', at, member)
  redis.call('PEXPIRE', key, window)
end
return 0
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

/** Shared by every process through Redis. */
export class SlidingWindowLimiter implements RateLimiter {
  private seq = 0;

  /**
   * @param prefix when set, keys are stored as `<prefix>:rl:<key>`; without it, as given.
   */
  constructor(
    private readonly redis: RedisScripting,
    private readonly prefix?: string,
  ) {}

  private key(key: string): string {
    return this.prefix === undefined ? key : `${this.prefix}:rl:${key}`;
  }

  async hit(key: string, max: number, windowMs: number, now = Date.now()): Promise<RateDecision> {
    const member = `${now}-${process.pid}-${this.seq++}`;
    const [allowed, remaining, retry] = (await this.redis.eval(
      HIT,
      1,
      this.key(key),
      String(now),
      String(windowMs),
      String(max),
      member,
    )) as [number, number, number];
    return {
      allowed: allowed === 1,
      remaining,
      retryAfterMs: Math.max(0, retry),
      ...(allowed === 1 ? { member } : {}),
    };
  }

  /**
   * Counts a hit from `at` (its end) instead of from when it was taken: for a budget another
   * party counts when the call reaches it, which is anywhere between the two.
   */
  async settle(key: string, member: string, windowMs: number, at = Date.now()): Promise<void> {
    await this.redis.eval(SETTLE, 1, this.key(key), member, String(at), String(windowMs));
  }

  async peek(key: string, max: number, windowMs: number, now = Date.now()): Promise<RateWindow> {
    const [remaining, retry] = (await this.redis.eval(
      PEEK,
      1,
      this.key(key),
      String(now),
      String(windowMs),
      String(max),
    )) as [number, number];
    return { remaining, retryAfterMs: Math.max(0, retry) };
  }
}

/** The same limiter in this process only. */
export class MemorySlidingWindowLimiter implements RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly clock: () => number = Date.now) {}

  private window(key: string, max: number, windowMs: number, now: number): RateWindow & { times: number[] } {
    const times = this.hits.get(key) ?? [];
    while (times.length > 0 && times[0]! <= now - windowMs) times.shift();
    if (times.length === 0) this.hits.delete(key);
    const remaining = Math.max(0, max - times.length);
    return { times, remaining, retryAfterMs: remaining > 0 ? 0 : times[0]! + windowMs - now };
  }

  async hit(key: string, max: number, windowMs: number, now = this.clock()): Promise<RateDecision> {
    const { times, remaining, retryAfterMs } = this.window(key, max, windowMs, now);
    if (remaining === 0) return { allowed: false, remaining, retryAfterMs };
    times.push(now);
    this.hits.set(key, times);
    return { allowed: true, remaining: remaining - 1, retryAfterMs: 0 };
  }

  async peek(key: string, max: number, windowMs: number, now = this.clock()): Promise<RateWindow> {
    const { remaining, retryAfterMs } = this.window(key, max, windowMs, now);
    return { remaining, retryAfterMs };
  }
}
