import { describe, expect, it } from 'vitest';
import { formatClock, formatDuration, formatUsd, truncate } from '../../../bots/format.js';
import { textProgressBar } from '../../../src/core/view.js';

describe('formatting', () => {
  it('durations', () => {
    expect(formatDuration(30_000)).toBe('less than a minute');
    expect(formatDuration(12 * 60_000)).toBe('12 min');
    expect(formatDuration(65 * 60_000)).toBe('1 h 05 min');
    expect(formatDuration(120 * 60_000)).toBe('2 h');
  });
  it('money', () => {
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(1234)).toBe('$0.0012');
    expect(formatUsd(1_234_567)).toBe('$1.23');
  });
  it('clock times in UTC', () => {
    const now = new Date('2026-11-21T10:00:00Z');
    expect(formatClock(new Date('2026-11-21T18:40:00Z'), now)).toBe('18:40 UTC');
    expect(formatClock(new Date('2026-11-22T01:05:00Z'), now)).toBe('2026-11-22 01:05 UTC');
  });
  it('truncation', () => {
    expect(truncate('a  b\n c', 10)).toBe('a b c');
    expect(truncate('abcdefghijkl', 5)).toBe('abcd…');
  });
  it('text progress bars', () => {
    expect(textProgressBar(0)).toBe('░░░░░░░░░░ 0%');
    expect(textProgressBar(42)).toBe('▓▓▓▓░░░░░░ 42%');
    expect(textProgressBar(100)).toBe('▓▓▓▓▓▓▓▓▓▓ 100%');
    expect(textProgressBar(150)).toBe('▓▓▓▓▓▓▓▓▓▓ 100%');
  });
});
