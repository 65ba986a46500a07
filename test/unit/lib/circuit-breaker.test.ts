import { describe, expect, it } from 'vitest';
import { isSpawnError } from '../../../src/errors.js';
import { CircuitBreaker } from '../../../src/lib/circuit-breaker.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function refusal(breaker: CircuitBreaker) {
  try {
    breaker.check();
  } catch (e) {
    if (isSpawnError(e)) return e;
    throw e;
  }
  return undefined;
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of failures in a row and fails fast with provider unavailable', () => {
    const t = clock();
    const b = new CircuitBreaker({ label: 'Railway', failureThreshold: 3, openMs: 30_000, now: t.now });
    b.failure('HTTP 502');
    b.failure('HTTP 502');
    expect(b.state).toBe('closed');
    expect(refusal(b)).toBeUndefined();
    b.failure('ECONNRESET');
    expect(b.state).toBe('open');
    const e = refusal(b)!;
    expect(e.code).toBe('ERR_PROVIDER_UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(e.retryAfterMs).toBe(30_000);
    expect(e.message).toContain('3 failed requests in a row, last: ECONNRESET');
    expect(e.userMessage).toBe('Railway is unavailable right now; please try again in a few minutes.');
  });

  it('a success in between resets the count', () => {
    const b = new CircuitBreaker({ label: 'Render', failureThreshold: 2 });
    b.failure('HTTP 500');
    b.success();
    b.failure('HTTP 500');
    expect(b.state).toBe('closed');
  });

  it('lets one trial through after the open period: success closes, failure reopens', () => {
    const t = clock();
    const b = new CircuitBreaker({ label: 'Render', failureThreshold: 1, openMs: 1000, now: t.now });
    b.failure('HTTP 503');
    expect(b.isOpen()).toBe(true);
    t.advance(1000);
    expect(b.state).toBe('half-open');
    expect(b.isOpen()).toBe(false);
    expect(refusal(b)).toBeUndefined(); // the trial
    expect(refusal(b)?.code).toBe('ERR_PROVIDER_UNAVAILABLE'); // others wait for it
    b.failure('HTTP 503');
    expect(b.state).toBe('open');
    t.advance(1000);
    expect(refusal(b)).toBeUndefined();
    b.success();
    expect(b.state).toBe('closed');
    expect(refusal(b)).toBeUndefined();
  });

  it('a trial we cancelled ourselves frees the slot without a verdict', () => {
    const t = clock();
    const b = new CircuitBreaker({ label: 'Railway', failureThreshold: 1, openMs: 10, now: t.now });
    b.failure('timeout');
    t.advance(10);
    expect(refusal(b)).toBeUndefined();
    b.release();
    expect(refusal(b)).toBeUndefined();
  });
});
