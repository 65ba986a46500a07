import {
  MemorySlidingWindowLimiter,
  type RateLimiter,
  SlidingWindowLimiter,
} from '../../lib/rate-limiter.js';
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

export function createRedisCreateBudget(
  redis: Redis,
  key: string,
  max: number = RENDER_CREATES_PER_HOUR,
  windowMs: number = RENDER_CREATE_WINDOW_MS,
): CreateBudget {
  return budgetOver(new SlidingWindowLimiter(redis), key, max, windowMs);
}

/** The same budget in this process only: for a single process without Redis (and tests). */
export function createMemoryCreateBudget(
  max: number = RENDER_CREATES_PER_HOUR,
  windowMs: number = RENDER_CREATE_WINDOW_MS,
): CreateBudget {
  return budgetOver(new MemorySlidingWindowLimiter(), 'render:creates', max, windowMs);
}

function budgetOver(limiter: RateLimiter, key: string, max: number, windowMs: number): CreateBudget {
  return {
    max,
    peek: () => limiter.peek(key, max, windowMs),
    take: () => limiter.hit(key, max, windowMs),
  };
}
