import type { RateLimit, WindowLimit } from './types.js';

/** A token bucket: `burst` requests at once, then `perSecond`. */
export class Bucket {
  private tokens: number;
  private at = Date.now();
  constructor(private readonly limit: RateLimit) {
    this.tokens = limit.burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.at) / 1000) * this.limit.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * At most `max` requests in any `windowMs`: Slack's tiers are counted per method per workspace,
 * per minute (Tier 3 about 50/min for chat.update), and answered with 429 + Retry-After
 * (https://docs.slack.dev/apis/web-api/rate-limits).
 */
export class SlidingWindow {
  private readonly hits: number[] = [];
  constructor(private readonly limit: WindowLimit) {}
  take(now = Date.now()): boolean {
    while (this.hits.length > 0 && this.hits[0]! <= now - this.limit.windowMs) this.hits.shift();
    if (this.hits.length >= this.limit.max) return false;
    this.hits.push(now);
    return true;
  }
}
