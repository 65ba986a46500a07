import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PromptCache } from './cache.js';
import {
  FAKE_MODEL_RULES,
  imageRuleViolation,
  modelRuleViolation,
  thinkingDisplay,
  thinksFor,
} from './model-rules.js';
import { renderMessage, type SseEvent } from './render.js';
import type { Scripted, ScriptedMessage } from './script.js';
import { prefixHash, ThinkingLedger } from './thinking.js';
import { validateMessagesRequest } from './validate-request.js';

export * from './script.js';

/** A request as the fake received it; credentials are never kept. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-cased headers without `x-api-key` and `authorization`. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body (POST) or undefined. */
  readonly body: Record<string, unknown> | undefined;
  /** `x-stainless-retry-count`: 0 for a first try, n for the SDK's n-th retry. */
  readonly retryCount: number;
  readonly authorized: boolean;
  readonly at: number;
}

/** Answers a request from what it carries; may wait (a test holding the build at a point). */
export type Responder = (request: RecordedRequest) => Scripted | Promise<Scripted>;

export interface FakeAnthropicOptions {
  /** The one key accepted (as `x-api-key` or `Authorization: Bearer`). Default `test-key`. */
  readonly apiKey?: string;
  /** Models that exist. */
  readonly models?: readonly string[];
  /** Shortest cacheable prefix in tokens. Default: the model's (1024 for a model without rules). */
  readonly minCacheTokens?: number;
}

export const FAKE_MODELS = ['claude-sonnet-5-5', 'claude-opus-5-5', 'claude-haiku-5-5'] as const;

/** Largest request body accepted, as the API's own limit is (32 MB). */
const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * A local Anthropic API for tests, spoken to through the official SDK with only `baseURL`
 * changed: `POST /v1/messages` (JSON, or SSE with `stream: true`) answering from a script,
 * `GET /v1/models`, key checks (401 `authentication_error`), the request checks of the real
 * API (400 `invalid_request_error`), prompt-cache accounting, and scripted failures: 429
 * with `retry-after`, 529, `event: error` mid-stream, cut connections, stalls, malformed
 * tool input, output cut at `max_tokens`.
 */
export class FakeAnthropic {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: (Scripted | Responder)[] = [];
  private readonly cache: PromptCache;
  private readonly minCacheTokens: number | undefined;
  private readonly ledger = new ThinkingLedger();
  private apiKey: string;
  private readonly models: readonly string[];
  private server: Server | undefined;
  url = '';

  constructor(options: FakeAnthropicOptions = {}) {
    this.apiKey = options.apiKey ?? 'test-key';
    this.models = options.models ?? FAKE_MODELS;
    this.minCacheTokens = options.minCacheTokens;
    this.cache = new PromptCache(options.minCacheTokens ?? 1024);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.error(res, 500, 'api_error', `fake failure: ${String(e)}`);
        else res.destroy();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** Queues answers for the next `POST /v1/messages` requests, in order. */
  script(...entries: (Scripted | Responder)[]): this {
    this.queue.push(...entries);
    return this;
  }

  /** From now on only this key is accepted: the old one was revoked. */
  setApiKey(key: string): void {
    this.apiKey = key;
  }

  /** Scripted answers not used yet. */
  get pending(): number {
    return this.queue.length;
  }

  /** Drops what is left of the script and the recorded requests. */
  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
  }

  /** The authorised message requests, in order. */
  messageRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.authorized && r.path === '/v1/messages');
  }

  private error(
    res: ServerResponse,
    status: number,
    type: string,
    message: string,
    extra: Record<string, string> = {},
    details?: Record<string, unknown>,
  ): void {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    const requestId = `req_fake${randomBytes(6).toString('hex')}`;
    res.setHeader('request-id', requestId);
    for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
    res.end(
      JSON.stringify({
        type: 'error',
        error: { type, message, ...(details ? { details } : {}) },
        request_id: requestId,
      }),
    );
  }

  private json(res: ServerResponse, body: unknown): void {
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json');
    res.setHeader('request-id', `req_fake${randomBytes(6).toString('hex')}`);
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > BODY_LIMIT_BYTES) {
        this.error(res, 413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.');
        return;
      }
      chunks.push(c as Buffer);
    }
    const url = new URL(req.url ?? '/', this.url);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k === 'x-api-key' || k === 'authorization' || v === undefined) continue;
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const key =
      (req.headers['x-api-key'] as string | undefined) ??
      /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const authorized = key === this.apiKey;
    let body: Record<string, unknown> | undefined;
    let badJson = false;
    if (req.method === 'POST') {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        badJson = true;
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers,
      body,
      retryCount: Number(req.headers['x-stainless-retry-count'] ?? 0),
      authorized,
      at: Date.now(),
    };
    this.requests.push(recorded);

    if (!key) {
      this.error(res, 401, 'authentication_error', 'x-api-key header is required');
      return;
    }
    if (!authorized) {
      this.error(res, 401, 'authentication_error', 'invalid x-api-key');
      return;
    }
    if (!req.headers['anthropic-version']) {
      this.error(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
      return;
    }

    if (req.method === 'GET' && url.pathname === '/v1/models') {
      const limit = Math.max(1, Math.min(1000, Number(url.searchParams.get('limit') ?? 20)));
      const data = this.models.slice(0, limit).map((id) => ({
        type: 'model',
        id,
        display_name: id,
        created_at: '2026-01-01T00:00:00Z',
      }));
      this.json(res, {
        data,
        has_more: this.models.length > limit,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
      });
      return;
    }
    const modelPath = /^\/v1\/models\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && modelPath) {
      // GET /v1/models/{model_id}: the model, or 404 not_found_error for an id that does not exist.
      const id = decodeURIComponent(modelPath[1]!);
      if (!this.models.includes(id)) {
        this.error(res, 404, 'not_found_error', `model: ${id}`);
        return;
      }
      this.json(res, { type: 'model', id, display_name: id, created_at: '2026-01-01T00:00:00Z' });
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/messages') {
      this.error(res, 404, 'not_found_error', `Not found: ${req.method} ${url.pathname}`);
      return;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json') || badJson) {
      this.error(res, 400, 'invalid_request_error', 'The request body is not valid JSON.');
      return;
    }
    const invalid = validateMessagesRequest(body, this.models);
    if (invalid) {
      this.error(
        res,
        invalid.startsWith('model: ') ? 404 : 400,
        invalid.startsWith('model: ') ? 'not_found_error' : 'invalid_request_error',
        invalid,
      );
      return;
    }
    const b = body!;
    const rules = FAKE_MODEL_RULES[String(b.model)];
    const refused =
      imageRuleViolation(b) ??
      (rules ? modelRuleViolation(b, rules) : undefined) ??
      this.ledger.violation(b, rules?.bindsThinkingToConversation ?? false);
    if (refused) {
      this.error(res, 400, 'invalid_request_error', refused);
      return;
    }
    const next = this.queue.shift();
    if (!next) {
      // 400, so the SDK does not retry and the test sees at once that its script ran out.
      this.error(res, 400, 'invalid_request_error', 'fake anthropic: no scripted answer left');
      return;
    }
    const scripted = typeof next === 'function' ? await next(recorded) : next;
    if (scripted.kind === 'http-error') {
      this.error(
        res,
        scripted.status,
        scripted.type,
        scripted.message ?? scripted.type,
        scripted.retryAfter !== undefined ? { 'retry-after': scripted.retryAfter } : {},
        scripted.errorCode ? { error_code: scripted.errorCode } : undefined,
      );
      return;
    }
    const model = String(b.model);
    const rendered = renderMessage(scripted, {
      model,
      maxTokens: b.max_tokens as number,
      input: this.cache.account(b, this.minCacheTokens ?? rules?.minCacheTokens),
      thinking: { on: rules ? thinksFor(b, rules) : false, display: thinkingDisplay(b) },
    });
    this.ledger.record(
      model,
      rendered.thinking,
      rendered.toolUseIds,
      prefixHash(b, (b.messages as unknown[]).length),
    );
    if (b.stream !== true) {
      this.json(res, rendered.json);
      return;
    }
    await this.stream(req, res, rendered.events, scripted);
  }

  private async stream(
    req: IncomingMessage,
    res: ServerResponse,
    events: SseEvent[],
    scripted: ScriptedMessage,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': `req_fake${randomBytes(6).toString('hex')}`,
    });
    let closed = false;
    req.socket.once('close', () => {
      closed = true;
    });
    let sent = 0;
    for (const e of events) {
      if (closed) return;
      const brk = scripted.break;
      if (brk && e.event !== 'ping' && sent >= brk.afterEvents) {
        if (brk.kind === 'error') {
          const error = { type: brk.errorType ?? 'overloaded_error', message: brk.message ?? 'Overloaded' };
          res.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error })}\n\n`);
        } else if (brk.kind === 'cut') {
          await new Promise((r) => setTimeout(r, 20));
          res.socket?.destroy();
        } else if (brk.kind === 'end') {
          res.end();
        }
        // 'stall': send nothing more; the client gives up, or stop() closes the connection.
        return;
      }
      if (e.thinkingEnd && scripted.holdThinking) await scripted.holdThinking();
      if (e.blockStart && scripted.blockDelayMs)
        await new Promise((r) => setTimeout(r, scripted.blockDelayMs));
      // Each event leaves before the next, so a scripted cut happens after what was sent.
      await new Promise<void>((r) =>
        res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`, () => r()),
      );
      if (e.event !== 'ping') sent++;
    }
    res.end();
  }
}
