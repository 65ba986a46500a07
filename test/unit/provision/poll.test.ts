import { describe, expect, it } from 'vitest';
import {
  POLL_FIRST_DELAY_MS,
  POLL_MAX_DELAY_MS,
  pollDelayMs,
} from '../../../src/provision/resilience/follow.js';

describe('polling a deployment', () => {
  it('polls quickly at first, then every few seconds', () => {
    expect(pollDelayMs(1)).toBe(POLL_FIRST_DELAY_MS);
    expect(pollDelayMs(2)).toBeGreaterThan(pollDelayMs(1));
    expect(pollDelayMs(50)).toBe(POLL_MAX_DELAY_MS);
  });
});
