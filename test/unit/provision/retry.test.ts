import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  POLL_FIRST_DELAY_MS,
  POLL_MAX_DELAY_MS,
  pollDelayMs,
  RETRY_MAX_DELAY_MS,
  retryAfterMs,
} from '../../../src/provision/resilience/retry.js';

const NOW = Date.parse('2026-05-01T12:00:00Z');

describe('retryAfterMs', () => {
  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), NOW)).toBe(7000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(NOW + 30_000).toUTCString() }), NOW)).toBe(
      30_000,
    );
  });

  it("reads Railway's X-RateLimit-Reset (a Unix time) when the window is used up", () => {
    const reset = String(Math.floor(NOW / 1000) + 90);
    expect(retryAfterMs(new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }), NOW)).toBe(
      90_000,
    );
  });

  it("reads Render's Ratelimit-Reset (seconds from now)", () => {
    expect(retryAfterMs(new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': '42' }), NOW)).toBe(
      42_000,
    );
  });

  it('ignores a reset while requests remain, and nonsense', () => {
    expect(
      retryAfterMs(new Headers({ 'ratelimit-remaining': '5', 'ratelimit-reset': '42' }), NOW),
    ).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': '-3' }), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers(), NOW)).toBeUndefined();
  });

  it('prefers Retry-After over the reset headers', () => {
    const h = new Headers({ 'retry-after': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': '600' });
    expect(retryAfterMs(h, NOW)).toBe(2000);
  });
});

describe('backoff and polling', () => {
  it('doubles per attempt with jitter, up to a cap', () => {
    expect(backoffMs(1, () => 1)).toBe(250);
    expect(backoffMs(1, () => 0)).toBe(125);
    expect(backoffMs(3, () => 1)).toBe(1000);
    expect(backoffMs(30, () => 1)).toBe(RETRY_MAX_DELAY_MS);
  });

  it('polls quickly at first, then every few seconds', () => {
    expect(pollDelayMs(1)).toBe(POLL_FIRST_DELAY_MS);
    expect(pollDelayMs(2)).toBeGreaterThan(pollDelayMs(1));
    expect(pollDelayMs(50)).toBe(POLL_MAX_DELAY_MS);
  });
});
