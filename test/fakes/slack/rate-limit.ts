import type { RateLimit } from './types.js';

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
