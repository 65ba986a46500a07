import { createHash } from 'node:crypto';

export interface BucketRule {
  /** Requests per window. */
  readonly limit: number;
  readonly windowMs: number;
}

export interface BucketDecision {
  readonly allowed: boolean;
  readonly headers: Record<string, string>;
  /** Seconds until the bucket resets (for a 429 body). */
  readonly retryAfterS: number;
}

/** A 429 the test asks for: the next `times` requests whose bucket key matches. */
interface Forced {
  readonly match: RegExp;
  times: number;
  readonly retryAfterS: number;
  readonly global: boolean;
}

/**
 * Discord's per-route buckets: a bucket per route and major parameter (channel, webhook,
 * guild), `X-RateLimit-*` headers on every answer, and 429 with `Retry-After` (whole seconds,
 * as Discord sends it) once a bucket is empty.
 */
export class Buckets {
  private readonly state = new Map<string, { remaining: number; resetAt: number }>();
  private readonly forced: Forced[] = [];
  /** Every 429 sent, by bucket key. */
  readonly limited: string[] = [];

  constructor(private readonly ruleFor: (key: string) => BucketRule) {}

  /** The next `times` requests whose bucket key matches answer 429 with this Retry-After. */
  force(match: RegExp, retryAfterS: number, times = 1, global = false): void {
    this.forced.push({ match, times, retryAfterS, global });
  }

  take(key: string, now = Date.now()): BucketDecision & { global: boolean } {
    const forced = this.forced.find((f) => f.times > 0 && f.match.test(key));
    if (forced) {
      forced.times--;
      this.limited.push(key);
      return {
        allowed: false,
        global: forced.global,
        retryAfterS: forced.retryAfterS,
        headers: {
          'retry-after': String(Math.ceil(forced.retryAfterS)),
          'x-ratelimit-scope': forced.global ? 'global' : 'shared',
          ...(forced.global ? { 'x-ratelimit-global': 'true' } : {}),
        },
      };
    }
    const rule = this.ruleFor(key);
    let bucket = this.state.get(key);
    if (!bucket || now >= bucket.resetAt) {
      bucket = { remaining: rule.limit, resetAt: now + rule.windowMs };
      this.state.set(key, bucket);
    }
    const resetAfterS = Math.max(0, (bucket.resetAt - now) / 1000);
    const common = {
      'x-ratelimit-limit': String(rule.limit),
      'x-ratelimit-reset': (bucket.resetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': resetAfterS.toFixed(3),
      'x-ratelimit-bucket': createHash('sha1')
        .update(key.replace(/\d{5,}/g, ':id'))
        .digest('hex')
        .slice(0, 16),
    };
    if (bucket.remaining <= 0) {
      this.limited.push(key);
      return {
        allowed: false,
        global: false,
        retryAfterS: resetAfterS,
        headers: {
          ...common,
          'x-ratelimit-remaining': '0',
          'retry-after': String(Math.max(1, Math.ceil(resetAfterS))),
          'x-ratelimit-scope': 'user',
        },
      };
    }
    bucket.remaining--;
    return {
      allowed: true,
      global: false,
      retryAfterS: 0,
      headers: { ...common, 'x-ratelimit-remaining': String(bucket.remaining) },
    };
  }
}
