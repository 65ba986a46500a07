import { MINUTE_MS } from '../src/util/time.js';

/** "1 h 05 min", "12 min", "less than a minute". */
export function formatDuration(ms: number): string {
  if (ms < MINUTE_MS) return 'less than a minute';
  const minutes = Math.round(ms / MINUTE_MS);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${String(m).padStart(2, '0')} min`;
}

/** Time left until `until`, or "ended". */
export function timeLeft(until: Date | null | undefined, now: Date): string | undefined {
  if (!until) return undefined;
  const ms = until.getTime() - now.getTime();
  return ms <= 0 ? 'ended' : formatDuration(ms);
}

/** `$0.0123`; whole cents for larger sums. */
export function formatUsd(microUsd: number): string {
  const usd = microUsd / 1_000_000;
  if (usd === 0) return '$0.00';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

/** `18:40 UTC`, plus the date when it is not today. */
export function formatClock(at: Date, now: Date): string {
  const hhmm = at.toISOString().slice(11, 16);
  const sameDay = at.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
  return sameDay ? `${hhmm} UTC` : `${at.toISOString().slice(0, 10)} ${hhmm} UTC`;
}

export function truncate(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1).trimEnd()}…`;
}
