import { describe, expect, it } from 'vitest';
import { isSpawnError } from '../../../src/errors.js';
import { CircuitBreaker } from '../../../src/lib/circuit-breaker.js';
import { fetchWithRetry, HttpStatusError, HttpUnreachableError } from '../../../src/lib/http.js';

type Step = Response | Error;

/** A fetch that plays the given answers (or throws the given errors) in turn. */
function scripted(...steps: Step[]) {
  const bodies: (string | undefined)[] = [];
  const fetchFn = (async (_input: unknown, init?: RequestInit) => {
    bodies.push(typeof init?.body === 'string' ? init.body : undefined);
    const step = steps.shift();
    if (!step) throw new Error('no more steps');
    if (step instanceof Error) throw step;
    return step;
  }) as typeof fetch;
  return { fetchFn, bodies };
}

function refused(): Error {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
  });
}

function reset(): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
}

function timedOut(): Error {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
}

function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const base = { random: () => 1 };

describe('fetchWithRetry', () => {
  it('answers a 2xx at once', async () => {
    const s = scripted(new Response('ok'));
    const r = recorder();
    const res = await fetchWithRetry('http://x/', {}, { ...base, fetch: s.fetchFn, sleep: r.sleep });
    expect(res.status).toBe(200);
    expect(r.waits).toEqual([]);
  });

  it('waits out a 429 for as long as Retry-After says, then answers', async () => {
    const s = scripted(
      new Response('', { status: 429, headers: { 'retry-after': '3' } }),
      new Response('ok'),
    );
    const r = recorder();
    const res = await fetchWithRetry('http://x/', {}, { ...base, fetch: s.fetchFn, sleep: r.sleep });
    expect(res.status).toBe(200);
    expect(r.waits).toEqual([3000]);
  });

  it('hands back a 429 asking for longer than maxRetryWaitMs instead of waiting', async () => {
    const s = scripted(new Response('', { status: 429, headers: { 'retry-after': '60' } }));
    const r = recorder();
    const res = await fetchWithRetry(
      'http://x/',
      {},
      { ...base, maxRetryWaitMs: 10_000, fetch: s.fetchFn, sleep: r.sleep },
    );
    expect(res.status).toBe(429);
    expect(new HttpStatusError(res.status, res.headers).retryAfterMs).toBe(60_000);
    expect(r.waits).toEqual([]);
  });

  it('retries 5xx with growing backoff and hands back the last answer (answered, not unreachable)', async () => {
    const s = scripted(
      new Response('', { status: 502 }),
      new Response('', { status: 503 }),
      new Response('', { status: 500 }),
    );
    const r = recorder();
    const res = await fetchWithRetry(
      'http://x/',
      {},
      { ...base, maxAttempts: 3, fetch: s.fetchFn, sleep: r.sleep },
    );
    expect(res.status).toBe(500);
    expect(r.waits).toEqual([250, 500]);
  });

  it('does not resend a non-idempotent request after a 5xx or a lost connection, but does after a refusal', async () => {
    const r = recorder();
    const five = scripted(new Response('', { status: 502 }));
    const res = await fetchWithRetry(
      'http://x/',
      { method: 'POST', body: '{}' },
      { ...base, idempotent: false, fetch: five.fetchFn, sleep: r.sleep },
    );
    expect(res.status).toBe(502);

    const lost = scripted(reset());
    await expect(
      fetchWithRetry('http://x/', {}, { ...base, idempotent: false, fetch: lost.fetchFn, sleep: r.sleep }),
    ).rejects.toBeInstanceOf(HttpUnreachableError);
    expect(r.waits).toEqual([]);

    const never = scripted(refused(), new Response('created', { status: 201 }));
    const created = await fetchWithRetry(
      'http://x/',
      { method: 'POST', body: '{"a":1}' },
      { ...base, idempotent: false, fetch: never.fetchFn, sleep: r.sleep },
    );
    expect(created.status).toBe(201);
    expect(never.bodies).toEqual(['{"a":1}', '{"a":1}']);
  });

  it('tells "could not reach it" apart: HttpUnreachableError with the reason, after the attempts', async () => {
    const s = scripted(timedOut(), timedOut());
    const r = recorder();
    const e = await fetchWithRetry(
      'http://x/',
      {},
      { ...base, maxAttempts: 2, timeoutMs: 15_000, fetch: s.fetchFn, sleep: r.sleep },
    ).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(HttpUnreachableError);
    expect((e as HttpUnreachableError).timedOut).toBe(true);
    expect((e as HttpUnreachableError).reason).toBe('no answer within 15 s');
    expect(r.waits).toEqual([250]);
  });

  it('counts failures on the breaker and fails fast once it is open, without fetching', async () => {
    const breaker = new CircuitBreaker({ label: 'Render', failureThreshold: 2, openMs: 30_000 });
    const s = scripted(new Response('', { status: 503 }), new Response('', { status: 503 }));
    const r = recorder();
    const res = await fetchWithRetry(
      'http://x/',
      {},
      { ...base, maxAttempts: 2, breaker, fetch: s.fetchFn, sleep: r.sleep },
    );
    expect(res.status).toBe(503);
    expect(breaker.state).toBe('open');
    const e = await fetchWithRetry('http://x/', {}, { ...base, breaker, fetch: s.fetchFn }).catch(
      (err: unknown) => err,
    );
    expect(isSpawnError(e) && e.code).toBe('ERR_PROVIDER_UNAVAILABLE');
    expect(s.bodies).toHaveLength(2);
  });

  it("stops with the caller's reason when its signal aborts", async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const s = scripted(new Response('', { status: 503 }), new Response('ok'));
    const e = await fetchWithRetry(
      'http://x/',
      { signal: controller.signal },
      {
        ...base,
        fetch: s.fetchFn,
        sleep: async (_ms, signal) => {
          controller.abort(reason);
          signal?.throwIfAborted();
        },
      },
    ).catch((err: unknown) => err);
    expect(e).toBe(reason);
  });
});
