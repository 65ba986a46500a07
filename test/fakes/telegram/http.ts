import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeldConnections } from '../held-connections.js';
import { METHODS } from './methods.js';
import { ApiError, TelegramState } from './state.js';
import type { FakeTelegramOptions, FakeUser, Update } from './types.js';

/** Update types Telegram sends when allowed_updates is empty or absent. */
const DEFAULT_UPDATES = [
  'message',
  'edited_message',
  'callback_query',
  'pre_checkout_query',
  'my_chat_member',
];
export const SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function envelope(e: ApiError) {
  return {
    ok: false,
    error_code: e.code,
    description: e.description,
    ...(e.parameters ? { parameters: e.parameters } : {}),
  };
}

async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = req.headers['content-type'] ?? '';
  if (raw && type.startsWith('application/json')) Object.assign(params, JSON.parse(raw) as object);
  else if (raw) Object.assign(params, Object.fromEntries(new URLSearchParams(raw)));
  return params;
}

/** The answer to one webhook delivery, as Telegram received it. */
export interface WebhookAnswer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  readonly ms: number;
}

function updateType(u: Update): string {
  return Object.keys(u).find((k) => k !== 'update_id') ?? '';
}

/**
 * The HTTP side of the fake: `/bot<token>/<method>`, always the `{ok, ...}` envelope (also with
 * 429 and 5xx), getUpdates long polling with offsets (409 while a webhook is set or another
 * poll runs), and delivery of updates: kept for getUpdates, or POSTed to the webhook with the
 * secret token header.
 */
export class FakeBotApi {
  readonly state: TelegramState;
  url = '';
  /** Every webhook delivery the pusher made. */
  readonly pushes: { updateId: number; status: number; at: number }[] = [];
  /** Methods run from webhook answers (also in `state.calls`, like any call). */
  readonly answered: { method: string; at: number }[] = [];
  private server: Server | undefined;
  private poller: { res: ServerResponse; timer: NodeJS.Timeout; flush: () => void } | undefined;
  private pushTarget: { url: string; secret: string | undefined } | undefined;
  protected readonly preCheckoutWaiters = new Map<string, () => void>();
  /**
   * While true api.telegram.org cannot be reached: every request has its connection reset
   * before an answer (an outage, a firewall), and is only counted in `refused` (epoch ms).
   */
  unreachable = false;
  readonly refused: number[] = [];
  /**
   * Methods Telegram answers only after this many ms (a slow network or an overloaded Bot API).
   * Only the timing changes: each call is still one HTTPS request answered with the usual
   * `{ ok, result }` (https://core.telegram.org/bots/api#making-requests).
   * A request its client gives up on meanwhile is dropped unanswered and unrun.
   */
  readonly slow = new Map<string, number>();
  /** Requests held by `slow`. */
  readonly held = new HeldConnections<IncomingMessage>();

  constructor(options: FakeTelegramOptions = {}) {
    this.state = new TelegramState(options);
  }

  get token(): string {
    return this.state.token;
  }

  get bot(): FakeUser {
    return this.state.bot;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch((e: unknown) =>
        send(res, 500, { ok: false, error_code: 500, description: String(e) }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (this.poller) {
      clearTimeout(this.poller.timer);
      this.poller.res.destroy();
      this.poller = undefined;
    }
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.unreachable) {
      this.refused.push(Date.now());
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    // Downloads: https://api.telegram.org/file/bot<token>/<file_path> (getFile), with the token
    // in the path as the only credential; a wrong token finds no file.
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file && req.method === 'GET') {
      const authorized = file[1] === this.state.token;
      this.state.downloads.push({ path: file[2]!, authorized, at: Date.now() });
      const found = authorized ? [...this.state.files.values()].find((f) => f.path === file[2]) : undefined;
      if (!found) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': found.bytes.length,
      });
      res.end(found.bytes);
      return;
    }
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (m[1] !== this.state.token)
      return send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2]!;
    let params: Record<string, unknown>;
    try {
      params = await readParams(req, url);
    } catch {
      return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
    }
    const delayMs = this.slow.get(method);
    if (delayMs !== undefined && !(await this.hold(req, res, delayMs))) return;
    const faulted = this.fault(method, params);
    if (faulted) return send(res, faulted.status, faulted.body);
    if (method === 'getUpdates') {
      this.record(method, params, Date.now(), 200);
      return this.getUpdates(params, res);
    }
    const { status, body } = this.invoke(method, params);
    send(res, status, body);
  }

  /** Waits `ms`; false when the client closed the request meanwhile. */
  private async hold(req: IncomingMessage, res: ServerResponse, ms: number): Promise<boolean> {
    const release = this.held.hold(req);
    let closed = false;
    const onClose = () => {
      closed = true;
      release();
    };
    res.once('close', onClose);
    await new Promise((r) => setTimeout(r, ms));
    res.off('close', onClose);
    release();
    return !closed && !res.destroyed;
  }

  /** The answer the test set for the next call of this method (see `failNext`), if any. */
  private fault(
    method: string,
    params: Record<string, unknown>,
  ): { status: number; body: unknown } | undefined {
    const fault = this.state.faults.find((f) => f.method === method && f.times > 0);
    if (!fault) return undefined;
    const now = Date.now();
    fault.times--;
    if (fault.error.code === 429) {
      const chatId = params.chat_id === undefined ? undefined : Number(params.chat_id);
      this.state.limited.push({
        method,
        chatId,
        retryAfter: fault.error.parameters?.retry_after ?? 1,
        at: now,
      });
    }
    this.record(method, params, now, fault.error.code);
    return { status: fault.error.code, body: envelope(fault.error) };
  }

  private record(method: string, params: Record<string, unknown>, at: number, status: number): void {
    const chatId = params.chat_id === undefined ? undefined : Number(params.chat_id);
    this.state.calls.push({ method, status, at, body: params, ...(chatId !== undefined ? { chatId } : {}) });
  }

  /**
   * One Bot API method, as a request to `/bot<token>/<method>` runs it (and as Telegram runs one
   * returned in a webhook answer): the method's rules, and the call log.
   */
  private invoke(method: string, params: Record<string, unknown>): { status: number; body: unknown } {
    const now = Date.now();
    const fn = METHODS[method];
    if (!fn) {
      this.record(method, params, now, 404);
      return {
        status: 404,
        body: { ok: false, error_code: 404, description: 'Not Found: method not found' },
      };
    }
    let result: unknown;
    try {
      result = fn(this.state, params, now);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      this.record(method, params, now, e.code);
      return { status: e.code, body: envelope(e) };
    }
    this.record(method, params, now, 200);
    if (method === 'answerPreCheckoutQuery')
      this.preCheckoutWaiters.get(String(params.pre_checkout_query_id))?.();
    return { status: 200, body: { ok: true, result } };
  }

  private getUpdates(p: Record<string, unknown>, res: ServerResponse): void {
    const s = this.state;
    if (s.webhook) {
      send(
        res,
        409,
        envelope(
          new ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
          ),
        ),
      );
      return;
    }
    if (this.poller) {
      const old = this.poller;
      this.poller = undefined;
      clearTimeout(old.timer);
      send(
        old.res,
        409,
        envelope(
          new ApiError(
            409,
            'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
          ),
        ),
      );
    }
    const offset = Number(p.offset ?? 0);
    if (offset > 0) s.pending = s.pending.filter((u) => u.update_id >= offset);
    if (Array.isArray(p.allowed_updates) && p.allowed_updates.length > 0)
      s.allowedUpdates = p.allowed_updates as string[];
    const allowed = s.allowedUpdates ?? DEFAULT_UPDATES;
    const limit = Math.max(1, Math.min(100, Number(p.limit ?? 100)));
    const ready = () => {
      s.pending = s.pending.filter((u) => allowed.includes(updateType(u)));
      return s.pending.slice(0, limit);
    };
    const timeoutS = Number(p.timeout ?? 0);
    const now = ready();
    if (now.length > 0 || timeoutS <= 0) {
      send(res, 200, { ok: true, result: now });
      return;
    }
    const done = () => {
      if (this.poller?.res !== res) return;
      clearTimeout(this.poller.timer);
      this.poller = undefined;
      send(res, 200, { ok: true, result: ready() });
    };
    this.poller = { res, timer: setTimeout(done, timeoutS * 1000), flush: done };
    res.on('close', () => {
      // The client gave up (runner stopped): forget the poll.
      if (this.poller?.res === res && !res.writableEnded) {
        clearTimeout(this.poller.timer);
        this.poller = undefined;
      }
    });
  }

  // --- delivery ------------------------------------------------------------------------------

  /** From now on updates are POSTed to `url` with this secret header (webhook mode). */
  pushTo(url: string, secret: string | undefined): void {
    this.pushTarget = { url, secret };
  }

  /** POSTs one update as Telegram's webhook delivery does; `secret: null` leaves the header out. */
  async push(update: Update, options: { secret?: string | null; body?: string } = {}): Promise<number> {
    const answer = await this.pushBody(options.body ?? JSON.stringify(update), options);
    this.pushes.push({ updateId: update.update_id, status: answer.status, at: Date.now() });
    return answer.status;
  }

  /**
   * POSTs these bytes to the webhook as a delivery, and then does what Telegram does with the
   * answer: a 2xx whose JSON or form body names a `method` has that method run on the bot's
   * behalf, its result and any error dropped ("It's not possible to know that such a request
   * was successful or get its result"; method names are case-insensitive:
   * https://core.telegram.org/bots/api#making-requests-when-getting-updates). Returns the answer
   * as the delivery got it, `ms` from sending to its end.
   */
  async pushBody(body: string, options: { secret?: string | null } = {}): Promise<WebhookAnswer> {
    const target = this.pushTarget;
    if (!target) throw new Error('pushTo() first');
    const secret = options.secret === undefined ? target.secret : options.secret;
    const started = performance.now();
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret ? { [SECRET_HEADER]: secret } : {}) },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const answer = { status: res.status, text, headers: res.headers, ms: performance.now() - started };
    if (res.ok) this.runAnswer(res.headers.get('content-type') ?? '', text);
    return answer;
  }

  private runAnswer(contentType: string, text: string): void {
    let params: Record<string, unknown>;
    try {
      if (contentType.startsWith('application/json')) params = JSON.parse(text) as Record<string, unknown>;
      else if (contentType.startsWith('application/x-www-form-urlencoded'))
        params = Object.fromEntries(new URLSearchParams(text));
      else return; // multipart answers are not used by SpawnAI; this fake does not read them
    } catch {
      return;
    }
    if (typeof params !== 'object' || params === null || typeof params.method !== 'string') return;
    const wanted = params.method.toLowerCase();
    const method = Object.keys(METHODS).find((m) => m.toLowerCase() === wanted) ?? params.method;
    const { method: _method, ...rest } = params;
    this.answered.push({ method, at: Date.now() });
    if (!this.fault(method, rest)) this.invoke(method, rest);
  }

  /** Hands an update to the bot: pushed to the webhook when one is targeted, else kept for getUpdates. */
  async deliver(update: Update): Promise<number | undefined> {
    if (this.pushTarget) return this.push(update);
    this.state.pending.push(update);
    this.poller?.flush();
    return undefined;
  }
}
