import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryAfterFromBody, retryAfterMs } from '../../../src/lib/retry-after.js';

const NOW = Date.parse('2026-05-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads seconds (whole or not) and HTTP dates (RFC 9110 §10.2.3)', () => {
    expect(parseRetryAfter('7', NOW)).toBe(7000);
    expect(parseRetryAfter(' 1.5 ', NOW)).toBe(1500);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(parseRetryAfter('Fri, 01 May 2026 12:00:45 GMT', NOW)).toBe(45_000);
  });

  it('reads a date in the past as no wait, and nonsense as nothing', () => {
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('-3', NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe('retryAfterMs', () => {
  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), NOW)).toBe(7000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(NOW + 30_000).toUTCString() }), NOW)).toBe(
      30_000,
    );
  });

  it("prefers Anthropic's Retry-After-Ms", () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1250', 'retry-after': '2' }), NOW)).toBe(1250);
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
    expect(retryAfterMs(undefined, NOW)).toBeUndefined();
  });

  it('prefers Retry-After over the reset headers', () => {
    const h = new Headers({ 'retry-after': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': '600' });
    expect(retryAfterMs(h, NOW)).toBe(2000);
  });
});

describe('retryAfterFromBody', () => {
  it("reads Telegram's parameters.retry_after and Discord's retry_after (seconds, maybe fractional)", () => {
    expect(retryAfterFromBody({ retry_after: 3 })).toBe(3000);
    expect(retryAfterFromBody({ retry_after: 0.3456, global: false })).toBe(346);
    expect(retryAfterFromBody({})).toBeUndefined();
    expect(retryAfterFromBody({ retry_after: '3' })).toBeUndefined();
    expect(retryAfterFromBody(undefined)).toBeUndefined();
  });
});
