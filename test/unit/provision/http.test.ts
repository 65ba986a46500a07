import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../src/lib/circuit-breaker.js';
import { silentLogger } from '../../../src/log.js';
import { ProviderHttp, scrubProviderText } from '../../../src/provision/resilience/http.js';
import { rejection } from '../../helpers/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base = '';
let script: Handler[] = [];
let seen: { method: string; auth: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({
      method: req.method ?? '',
      auth: req.headers.authorization,
      body: Buffer.concat(chunks).toString(),
    });
    const next = script.shift();
    if (next) next(req, res);
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  script = [];
  seen = [];
});

function client(breaker = new CircuitBreaker({ label: 'Render' }), extra = {}) {
  return new ProviderHttp({
    label: 'Render',
    baseUrl: `${base}/v1`,
    headers: { authorization: 'Bearer sekrit-key' },
    credentialVar: 'RENDER_API_KEY',
    breaker,
    logger: silentLogger(),
    ...extra,
  });
}

const status =
  (code: number, headers: Record<string, string> = {}, body = '{"message":"nope"}'): Handler =>
  (_req, res) =>
    res.writeHead(code, { 'content-type': 'application/json', ...headers }).end(body);

describe('ProviderHttp', () => {
  it('sends JSON with the credentials and parses the answer', async () => {
    const res = await client().request({ method: 'POST', path: '/services', body: { a: 1 }, what: 'create' });
    expect(res.body).toEqual({ ok: true });
    expect(seen).toEqual([{ method: 'POST', auth: 'Bearer sekrit-key', body: '{"a":1}' }]);
  });

  it('waits out a 429 for as long as Retry-After says, then succeeds', async () => {
    script = [status(429, { 'retry-after': '1' })];
    const started = Date.now();
    await client().request({ method: 'POST', path: '/services', body: {}, what: 'create the service' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(seen).toHaveLength(2);
  });

  it('does not sit out a long rate limit: ERR_RATE_LIMITED with the wait', async () => {
    script = [status(429, { 'ratelimit-remaining': '0', 'ratelimit-reset': '600' })];
    const e = await rejection(client().request({ method: 'GET', path: '/services', what: 'list' }));
    expect(e.code).toBe('ERR_RATE_LIMITED');
    expect(e.retryAfterMs).toBe(600_000);
    expect(e.userMessage).toBe('Render asked us to slow down; please try again in 10 minutes.');
    expect(seen).toHaveLength(1);
  });

  it('retries a GET on 5xx with backoff and gives up with ERR_PROVIDER_UNAVAILABLE', async () => {
    script = [status(502), status(503), status(500), status(500)];
    const e = await rejection(
      client().request({ method: 'GET', path: '/services', what: 'list the services' }),
    );
    expect(e.code).toBe('ERR_PROVIDER_UNAVAILABLE');
    expect(e.message).toBe('Render: could not list the services (HTTP 500: nope)');
    expect(seen).toHaveLength(4);
  });

  it('never sends a create twice when its outcome is unknown (5xx)', async () => {
    script = [status(500)];
    const e = await rejection(
      client().request({ method: 'POST', path: '/services', body: {}, what: 'create' }),
    );
    expect(e.code).toBe('ERR_PROVIDER_UNAVAILABLE');
    expect(seen).toHaveLength(1);
  });

  it('times out a request that never answers', async () => {
    script = [() => {}];
    const e = await rejection(
      client(undefined, { requestTimeoutMs: 200, maxAttempts: 1 }).request({
        method: 'GET',
        path: '/x',
        what: 'read',
      }),
    );
    expect(e.code).toBe('ERR_PROVIDER_UNAVAILABLE');
    expect(e.message).toContain('no answer within 200 ms');
  });

  it('maps refusals: 401 → ERR_CONFIG naming the variable (not the key), 404 → ERR_NOT_FOUND, 400 → ERR_DEPLOY_FAILED', async () => {
    script = [status(401), status(404), status(400, {}, '{"id":"bad","message":"name is taken"}')];
    const auth = await rejection(client().request({ method: 'GET', path: '/a', what: 'read' }));
    expect(auth.code).toBe('ERR_CONFIG');
    expect(auth.message).toContain('RENDER_API_KEY');
    expect(auth.message).not.toContain('sekrit-key');
    expect(auth.retryable).toBe(false);
    expect((await rejection(client().request({ method: 'GET', path: '/b', what: 'read' }))).code).toBe(
      'ERR_NOT_FOUND',
    );
    const bad = await rejection(
      client().request({ method: 'POST', path: '/c', body: {}, what: 'create the service' }),
    );
    expect(bad.code).toBe('ERR_DEPLOY_FAILED');
    expect(bad.message).toBe('Render refused to create the service (HTTP 400: name is taken)');
  });

  it('hands accepted statuses back instead of throwing', async () => {
    script = [status(404)];
    const res = await client().request({
      method: 'DELETE',
      path: '/services/x',
      what: 'delete',
      accept: [404],
    });
    expect(res.status).toBe(404);
  });

  it('feeds the circuit breaker: failures open it, then requests fail without reaching the provider', async () => {
    const breaker = new CircuitBreaker({ label: 'Render', failureThreshold: 2, openMs: 60_000 });
    script = [status(503), status(503)];
    await rejection(client(breaker, { maxAttempts: 1 }).request({ method: 'GET', path: '/a', what: 'read' }));
    await rejection(client(breaker, { maxAttempts: 1 }).request({ method: 'GET', path: '/a', what: 'read' }));
    const fast = await rejection(client(breaker).request({ method: 'GET', path: '/a', what: 'read' }));
    expect(fast.code).toBe('ERR_PROVIDER_UNAVAILABLE');
    expect(seen).toHaveLength(2);
  });

  it('stops at once when the caller cancels', async () => {
    script = [status(503, { 'retry-after': '5' })];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const e = await rejection(
      client().request({ method: 'GET', path: '/a', what: 'read', signal: controller.signal }),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(e.code).toBe('ERR_DEPLOY_TIMEOUT');
  });

  it('keeps signed URLs and long text out of quoted provider messages', () => {
    expect(scrubProviderText('cannot fetch https://x.supabase.co/o/b.tgz?token=abc.def now')).toBe(
      'cannot fetch [url] now',
    );
    expect(scrubProviderText('x'.repeat(500))).toHaveLength(200);
  });
});
