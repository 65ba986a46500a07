import type { Answer } from '../../contract/adapter-conformance.js';

/** POSTs a body exactly as given and keeps the whole answer. */
export async function post(
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, ms: performance.now() - started };
}
