import type { Redis } from '../redis/connection.js';

/**
 * Decides when the reaper may ask a cloud provider for its services again, so that polling
 * stays far below the provider's hourly API budget however many workers run the reaper.
 */
export interface PollGate {
  /**
   * True at most once per `intervalMs` for `key` (the time of the last claim is kept, so a
   * clock that goes back counts as "too soon"); `force` always claims and restarts the interval.
   */
  claim(key: string, intervalMs: number, now: number, force: boolean): Promise<boolean>;
}

const CLAIM = `
local last = redis.call('GET', KEYS[1])
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[3] ~= '1' and last and now - tonumber(last) < interval then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(1000, interval * 2))
return 1
`;

/** Shared by every worker through Redis: `<prefix>:poll:<key>` holds the time of the last poll. */
export function createRedisPollGate(redis: Redis, prefix: string): PollGate {
  return {
    async claim(key, intervalMs, now, force) {
      const claimed = await redis.eval(
        CLAIM,
        1,
        `${prefix}:poll:${key}`,
        String(now),
        String(intervalMs),
        force ? '1' : '0',
      );
      return claimed === 1;
    },
  };
}

/** One process only (tests, and sweeps run without Redis). */
export function createMemoryPollGate(): PollGate {
  const last = new Map<string, number>();
  return {
    async claim(key, intervalMs, now, force) {
      const at = last.get(key);
      if (!force && at !== undefined && now - at < intervalMs) return false;
      last.set(key, now);
      return true;
    },
  };
}
