import { request } from 'node:http';

/** An HTTP answer as the platform (or the browser) received it. */
export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  /** From sending the request to the end of the answer. */
  readonly ms: number;
}

/** One request exactly as the platform sends it: where, with which headers, which bytes. */
export interface RawRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A request sent all but its last byte: in flight (counted from its headers on) until `finish()`. */
export function hold(raw: RawRequest): { finish(): Promise<Answer> } {
  const body = Buffer.from(raw.body);
  const req = request(raw.url, {
    method: 'POST',
    headers: { ...raw.headers, 'content-length': String(body.length) },
  });
  let finishedAt = 0;
  const answered = new Promise<Answer>((resolve, reject) => {
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          headers,
          // The platform sends its request whole: its deadline counts from the last byte.
          ms: performance.now() - finishedAt,
        });
      });
    });
    req.once('error', reject);
  });
  req.write(body.subarray(0, -1));
  return {
    finish() {
      finishedAt = performance.now();
      req.end(body.subarray(-1));
      return answered;
    },
  };
}
