/** Values above this are read as a Unix time in seconds, below as a number of seconds. */
const EPOCH_SECONDS_THRESHOLD = 1_000_000_000;

/**
 * The one parser of a `Retry-After` value (RFC 9110 §10.2.3): a number of seconds, or an
 * HTTP date. Undefined when absent or nonsense (negative, unparseable).
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  }
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Reads a reset header: seconds from now, or a Unix time in seconds. */
function resetMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n < 0) return undefined;
  return n > EPOCH_SECONDS_THRESHOLD ? Math.max(0, n * 1000 - now) : n * 1000;
}

/**
 * How long a response asked us to wait: `Retry-After-Ms` (Anthropic), else `Retry-After`
 * (seconds or an HTTP date), else `X-RateLimit-Reset` (Railway) or `Ratelimit-Reset` (Render)
 * when the window is used up. Undefined when the response names no delay.
 */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms.trim());
    if (Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const asked = parseRetryAfter(headers.get('retry-after'), now);
  if (asked !== undefined) return asked;
  for (const prefix of ['x-ratelimit', 'ratelimit']) {
    const remaining = headers.get(`${prefix}-remaining`);
    const reset = resetMs(headers.get(`${prefix}-reset`), now);
    if (reset !== undefined && (remaining === null || Number(remaining) <= 0)) return reset;
  }
  return undefined;
}

/**
 * The `retry_after` a platform put in its JSON error body, in seconds (Telegram's
 * `parameters.retry_after`, Discord's 429 body), as milliseconds; undefined when absent.
 */
export function retryAfterFromBody(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const seconds = (body as { retry_after?: unknown }).retry_after;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return Math.ceil(seconds * 1000);
}
