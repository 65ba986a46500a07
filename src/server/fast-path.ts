import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSpawnError, SpawnError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Admission } from '../queue/inbound.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Signed webhook POSTs served on the bare node:http server, before Fastify's routing. */
    readonly fastPaths: FastPaths;
  }
}

/** What a fast path answers. */
export interface FastAnswer {
  readonly status: number;
  readonly body: string | Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FastRequest {
  readonly rawBody: Buffer;
  readonly headers: IncomingMessage['headers'];
}

export interface FastPathSpec {
  readonly bodyLimit: number;
  /** Called before the body is read (counts the request in flight); throws to refuse it. */
  readonly admit?: () => Admission;
  /** Called once the answer is written or the connection is gone, with what `admit` said. */
  readonly done?: (admission: Admission) => void;
  readonly handle: (request: FastRequest, admission: Admission) => Promise<FastAnswer>;
  /** Extra headers on error answers (e.g. Slack's `x-slack-no-retry`). */
  readonly errorHeaders?: (status: number) => Readonly<Record<string, string>>;
}

/**
 * Exact-path POST handlers that skip Fastify's routing, hooks and plugins: a platform's signed
 * webhook needs verify → parse → enqueue → answer and nothing else, at thousands of requests a
 * second (bench/ingest.ts measured the difference). Everything else, and every other method on
 * these paths, goes to Fastify as before. Error answers keep the `{ error: { code, message } }`
 * shape of the rest of the API.
 */
export class FastPaths {
  private readonly paths = new Map<string, FastPathSpec>();
  private closing = false;

  constructor(private readonly metrics?: Metrics) {}

  register(path: string, spec: FastPathSpec): void {
    this.paths.set(path, spec);
  }

  /** From now on these paths answer 503 (Fastify does the same for its routes while closing). */
  close(): void {
    this.closing = true;
  }

  /** Serves the request when it is one of ours; returns false to hand it to Fastify. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || req.url === undefined) return false;
    const spec = this.paths.get(req.url);
    if (!spec) return false;
    const started = performance.now();
    const path = req.url;
    let released = false;
    let admission: Admission = 'taken';
    const release = () => {
      if (released) return;
      released = true;
      spec.done?.(admission);
    };
    const send = (answer: FastAnswer) => {
      const json = typeof answer.body !== 'string';
      const body = json ? JSON.stringify(answer.body) : (answer.body as string);
      res.writeHead(answer.status, {
        'content-type': json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        ...(this.closing ? { connection: 'close' } : {}),
        ...answer.headers,
      });
      res.end(body);
      release();
      this.metrics?.httpDuration.observe(
        { method: 'POST', route: path, status: String(answer.status) },
        (performance.now() - started) / 1000,
      );
    };
    const fail = (e: unknown) => {
      const err = isSpawnError(e) ? e : new SpawnError('ERR_INTERNAL', undefined, { cause: e });
      send({
        status: err.status,
        body: { error: { code: err.code, message: err.userMessage } },
        headers: {
          ...spec.errorHeaders?.(err.status),
          ...(err.retryAfterMs ? { 'retry-after': String(Math.ceil(err.retryAfterMs / 1000)) } : {}),
        },
      });
    };
    if (this.closing) {
      fail(new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'The server is shutting down.'));
      return true;
    }
    try {
      admission = spec.admit?.() ?? 'taken';
    } catch (e) {
      // Not admitted: nothing to release.
      released = true;
      req.resume();
      fail(e);
      return true;
    }
    res.once('close', release);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > spec.bodyLimit) {
      req.resume();
      fail(new SpawnError('ERR_BODY_TOO_LARGE'));
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > spec.bodyLimit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (tooLarge) {
        fail(new SpawnError('ERR_BODY_TOO_LARGE'));
        return;
      }
      const rawBody = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      spec.handle({ rawBody, headers: req.headers }, admission).then(send, fail);
    });
    req.once('error', () => release());
    return true;
  }
}
