import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from './routes.js';
import type { FakeDiscord } from './server.js';
import { ApiError } from './state.js';

/**
 * One REST request: route match, bot auth, injected faults, the route's bucket (429 +
 * Retry-After), JSON body checks, then the handler; every answer is recorded on the fake.
 */
export async function handleRequest(
  fake: FakeDiscord,
  routes: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://x');
  const method = req.method ?? 'GET';
  // Clients percent-encode `@original` as `%40original`.
  const path = decodeURIComponent(url.pathname).replace(/^\/api\/v10/, '');
  const send = (status: number, body: unknown, headers: Record<string, string> = {}, route = path) => {
    fake.requests.push({
      method,
      path,
      route,
      status,
      body: raw ? safeJson(raw) : undefined,
      auth: req.headers.authorization !== undefined,
      at: Date.now(),
    });
    res.statusCode = status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (status === 204 || body === undefined) {
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };

  if (!url.pathname.startsWith('/api/v10/')) {
    send(404, { message: '404: Not Found', code: 0 });
    return;
  }
  let params: string[] = [];
  const route = routes.find((r) => {
    if (r.method !== method) return false;
    const m = r.pattern.exec(path);
    if (m) params = m.slice(1);
    return m !== null;
  });
  if (!route) {
    send(404, { message: '404: Not Found', code: 0 });
    return;
  }
  const key = route.bucket(params);
  const fault = fake.faults.find((f) => f.times > 0 && f.match.test(key));
  if (fault) {
    fault.times--;
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.status) {
      send(fault.status, { message: `${fault.status}: Server Error`, code: 0 }, {}, key);
      return;
    }
  }
  if (route.auth && req.headers.authorization !== `Bot ${fake.botToken}`) {
    send(401, { message: '401: Unauthorized', code: 0 }, {}, key);
    return;
  }
  const decision = fake.buckets.take(key);
  if (!decision.allowed) {
    send(
      429,
      {
        message: 'You are being rate limited.',
        retry_after: decision.retryAfterS,
        global: decision.global,
      },
      decision.headers,
      key,
    );
    return;
  }
  let body: unknown;
  if (raw) {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      send(400, { message: 'Invalid content type', code: 50035 }, decision.headers, key);
      return;
    }
    body = safeJson(raw);
    if (body === undefined) {
      send(400, { message: 'The request body contains invalid JSON.', code: 50109 }, decision.headers, key);
      return;
    }
  }
  try {
    const reply = await route.handler({ params, body, query: url.searchParams });
    send(reply.status, reply.body, decision.headers, key);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    send(
      e.status,
      { message: e.message, code: e.code, ...(e.errors ? { errors: e.errors } : {}) },
      decision.headers,
      key,
    );
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
