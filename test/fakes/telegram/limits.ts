/** At most `max` messages per `windowMs`. */
export interface Rule {
  readonly max: number;
  readonly windowMs: number;
}

/** Sliding windows of message times per key (a chat, or the whole bot). */
export class Windows {
  private readonly hits = new Map<string, number[]>();

  /** Milliseconds until one more is allowed, or 0 when one is allowed now. */
  wait(key: string, rule: Rule, now: number): number {
    const times = (this.hits.get(key) ?? []).filter((t) => t > now - rule.windowMs);
    this.hits.set(key, times);
    if (times.length < rule.max) return 0;
    return times[times.length - rule.max]! + rule.windowMs - now;
  }

  add(key: string, now: number): void {
    const times = this.hits.get(key) ?? [];
    times.push(now);
    this.hits.set(key, times);
  }
}

/** The most events that fall within any window of `windowMs` (inclusive at both ends). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
