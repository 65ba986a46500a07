/** First pause before retrying a failed provider request; doubled per attempt. */
export const RETRY_BASE_DELAY_MS = 250;
/** Longest pause between two attempts of one request when the provider names no delay. */
export const RETRY_MAX_DELAY_MS = 5_000;
/** First pause between two polls of a deployment's status; grows by {@link POLL_GROWTH}. */
export const POLL_FIRST_DELAY_MS = 250;
/** Longest pause between two polls of a deployment's status. */
export const POLL_MAX_DELAY_MS = 3_000;
const POLL_GROWTH = 1.5;
/** Values above this are read as a Unix time in seconds, below as a number of seconds. */
const EPOCH_SECONDS_THRESHOLD = 1_000_000_000;

/** Exponential backoff with jitter (50-100 % of the step), for attempt 1, 2, 3, ... */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(step * (0.5 + random() / 2));
}

/** The pause before poll number `poll` (1, 2, ...): quick at first, then every few seconds. */
export function pollDelayMs(poll: number): number {
  return Math.round(Math.min(POLL_MAX_DELAY_MS, POLL_FIRST_DELAY_MS * POLL_GROWTH ** Math.max(0, poll - 1)));
}

/** Reads a reset header: seconds from now, or a Unix time in seconds. */
function resetMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n < 0) return undefined;
  return n > EPOCH_SECONDS_THRESHOLD ? Math.max(0, n * 1000 - now) : n * 1000;
}

/**
 * How long the provider asked us to wait, from `Retry-After` (seconds or an HTTP date), else
 * `X-RateLimit-Reset` (Railway) or `Ratelimit-Reset` (Render) when the window is used up.
 * Undefined when the response names no delay.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const text = retryAfter.trim();
    if (/^-?\d+(\.\d+)?$/.test(text)) {
      const seconds = Number(text);
      if (seconds >= 0) return seconds * 1000;
    } else {
      const date = Date.parse(text);
      if (!Number.isNaN(date)) return Math.max(0, date - now);
    }
  }
  for (const prefix of ['x-ratelimit', 'ratelimit']) {
    const remaining = headers.get(`${prefix}-remaining`);
    const reset = resetMs(headers.get(`${prefix}-reset`), now);
    if (reset !== undefined && (remaining === null || Number(remaining) <= 0)) return reset;
  }
  return undefined;
}
