import http, { type IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';

/** Redirects followed, as fetch's `redirect: 'follow'` does (it allows 20; a preview needs few). */
const MAX_REDIRECTS = 5;

/** Whether browsers send `hostname` to the loopback without asking DNS (RFC 6761 6.3). */
export function isLoopbackName(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost');
}

const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

function bodyOf(init: RequestInit): string | Buffer | undefined {
  const body = init.body;
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  throw new TypeError('fetchLoopback sends string or byte bodies only');
}

function once(url: URL, init: RequestInit): Promise<Response> {
  const signal = init.signal ?? undefined;
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const request = http.request(
      url,
      { method: init.method ?? 'GET', headers, lookup: loopbackLookup, agent: false },
      (res) => {
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 205 || status === 304 || init.method === 'HEAD';
        if (empty) res.resume();
        resolve(
          new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage ?? '',
            headers: toHeaders(res.headers),
          }),
        );
      },
    );
    const onAbort = () => {
      request.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new TypeError('fetch failed', { cause: e }));
    });
    request.on('close', () => signal?.removeEventListener('abort', onAbort));
    request.end(bodyOf(init));
  });
}

/**
 * `fetch`, except that `localhost` and `*.localhost` go to 127.0.0.1 with their own Host
 * header, as browsers send them. Node's fetch asks the system's resolver, and glibc answers
 * ENOTFOUND for `<app>.localhost`, the address of every local preview. String and byte
 * bodies only on that path; redirects are followed for GET and HEAD.
 */
export async function fetchLoopback(input: string | URL, init: RequestInit = {}): Promise<Response> {
  let url = new URL(input);
  if (!isLoopbackName(url.hostname) || url.protocol !== 'http:') return fetch(url, init);
  for (let hop = 0; ; hop++) {
    const res = await once(url, init);
    const location = res.headers.get('location');
    const follow =
      init.redirect !== 'manual' &&
      location &&
      [301, 302, 303, 307, 308].includes(res.status) &&
      (init.method ?? 'GET').toUpperCase() in { GET: 1, HEAD: 1 };
    if (!follow || hop >= MAX_REDIRECTS) return res;
    await res.body?.cancel();
    const next = new URL(location, url);
    if (!isLoopbackName(next.hostname) || next.protocol !== 'http:') return fetch(next, init);
    url = next;
  }
}
