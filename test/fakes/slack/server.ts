import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockProblem } from './blocks.js';
import { parseApiBody, readBody } from './form.js';
import { Bucket, SlidingWindow } from './rate-limit.js';
import { SlackSigner } from './signer.js';
import { FakeSocketMode } from './socket.js';
import {
  DEFAULT_BOT_SCOPES,
  type FakeCall,
  type FakeChannel,
  type FakeEphemeral,
  type FakeMessage,
  type FakeResponse,
  type FakeSlackOptions,
  type FakeWorkspace,
  type ResponseContext,
} from './types.js';

export type * from './types.js';

/** Slack keeps a response_url usable for five posts within 30 minutes. */
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60_000;

type Json = Record<string, unknown>;

/**
 * A local Slack for tests: the Web API methods SpawnAI uses (auth.test, chat.postMessage,
 * chat.update, chat.postEphemeral, oauth.v2.access, apps.connections.open) with Slack's wire
 * format (form bodies, HTTP 200 `{ok:false, error}`), bearer-token auth per workspace, Block
 * Kit validation, per-channel rate limits answered with 429 + Retry-After, a `response_url`
 * sink (five uses), the OAuth consent redirect, and a Socket Mode WebSocket. `signer` sends
 * signed requests to the app under test.
 */
export class FakeSlack {
  readonly messages: FakeMessage[] = [];
  readonly ephemerals: FakeEphemeral[] = [];
  readonly responses: FakeResponse[] = [];
  readonly calls: FakeCall[] = [];
  readonly signer: SlackSigner;
  readonly socket: FakeSocketMode;
  url = '';
  private server: Server | undefined;
  private readonly workspaces = new Map<string, FakeWorkspace>();
  private readonly revoked = new Set<string>();
  /** Files people shared, by id, served at their `url_private_download`. */
  readonly files = new Map<string, { teamId: string; name: string; bytes: Buffer }>();
  /** Every download of a file: which and whether it carried the workspace's bot token. */
  readonly fileDownloads: { id: string; authorized: boolean; at: number }[] = [];
  private readonly responseUrls = new Map<
    string,
    { context: ResponseContext; uses: number; created: number }
  >();
  private readonly codes = new Map<
    string,
    { workspace: FakeWorkspace; redirectUri: string; used: boolean }
  >();
  private readonly channels = new Map<string, FakeChannel>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly windows = new Map<string, SlidingWindow>();
  private readonly every = new Map<string, { n: number; count: number }>();
  private readonly forced: { method: string; retryAfterS: number; times: number }[] = [];
  private readonly failures = new Map<string, string[]>();
  private pendingInstall: FakeWorkspace | undefined;
  private seq = 0;
  private ids = 0;

  constructor(readonly options: FakeSlackOptions) {
    for (const w of options.workspaces) this.workspaces.set(w.teamId, w);
    this.signer = new SlackSigner(options.signingSecret);
    this.socket = new FakeSocketMode();
  }

  /** The Web API base to give the app (SLACK_API_URL). */
  get apiUrl(): string {
    return `${this.url}/api`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
    this.socket.attach(this.server);
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await this.socket.close();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  workspace(teamId: string): FakeWorkspace {
    const w = this.workspaces.get(teamId);
    if (!w) throw new Error(`no fake workspace ${teamId}`);
    return w;
  }

  /** A workspace the app is installed in (as an install through OAuth would add it). */
  addWorkspace(workspace: FakeWorkspace): void {
    this.workspaces.set(workspace.teamId, workspace);
  }

  /** Declares a conversation (see {@link FakeChannel} for the ones it was not told about). */
  addChannel(channel: Omit<FakeChannel, 'members'> & { members?: string[] }): FakeChannel {
    const c: FakeChannel = { ...channel, members: [...(channel.members ?? [])] };
    this.channels.set(`${c.teamId}:${c.id}`, c);
    return c;
  }

  /** Someone types `/invite @SpawnAI` in the channel: the bot becomes a member. */
  invite(teamId: string, channelId: string): void {
    const c = this.channel(teamId, channelId);
    const bot = this.workspace(teamId).botUserId;
    if (!c.members.includes(bot)) c.members.push(bot);
  }

  channel(teamId: string, channelId: string): FakeChannel {
    const known = this.channels.get(`${teamId}:${channelId}`);
    if (known) return known;
    const bot = this.workspace(teamId).botUserId;
    return this.addChannel(
      channelId.startsWith('D')
        ? { teamId, id: channelId, kind: 'im', members: [bot] }
        : { teamId, id: channelId, kind: 'public', name: channelId.toLowerCase(), members: [] },
    );
  }

  /**
   * A file someone shares, as the file object a `file_share` message event carries
   * (https://api.slack.com/types/file: id, name, mimetype, filetype, size, url_private,
   * url_private_download). `declaredSize` overrides `size` (a large file without its megabytes).
   */
  shareFile(
    teamId: string,
    file: { name: string; mimetype: string; bytes: Buffer; declaredSize?: number },
  ): Record<string, unknown> {
    const id = this.newId('F');
    this.files.set(id, { teamId, name: file.name, bytes: file.bytes });
    const base = `${this.url}/files-pri/${teamId}-${id}`;
    return {
      id,
      created: Math.floor(Date.now() / 1000),
      name: file.name,
      title: file.name,
      mimetype: file.mimetype,
      filetype: file.name.split('.').pop() ?? '',
      size: file.declaredSize ?? file.bytes.length,
      mode: 'hosted',
      is_external: false,
      url_private: `${base}/${encodeURIComponent(file.name)}`,
      url_private_download: `${base}/download/${encodeURIComponent(file.name)}`,
    };
  }

  /** Makes a bot token stop working (`token_revoked`). */
  revoke(token: string): void {
    this.revoked.add(token);
  }

  /** Answers every `n`th call of `method` with 429 + Retry-After. */
  rateLimitEvery(method: string, n: number): void {
    this.every.set(method, { n, count: 0 });
  }

  /**
   * The next `times` calls of `method` answer 429 with `Retry-After: retryAfterS`: what Slack
   * sends when a method's limit is reached, the header giving the seconds to wait
   * (https://docs.slack.dev/apis/web-api/rate-limits).
   */
  rateLimitNext(method: string, retryAfterS: number, times = 1): void {
    this.forced.push({ method, retryAfterS, times });
  }

  /** The next calls of `method` answer `{ok: false, error}`, in order. */
  failNext(method: string, ...errors: string[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...errors]);
  }

  /** The next visit to the consent page approves an install into this workspace. */
  approveNextInstall(workspace: FakeWorkspace): void {
    this.pendingInstall = workspace;
  }

  /** A fresh `response_url` for a command or button press. */
  newResponseUrl(context: ResponseContext): string {
    const id = `${++this.ids}-${randomBytes(6).toString('hex')}`;
    this.responseUrls.set(id, { context, uses: 0, created: Date.now() });
    return `${this.url}/response/${id}`;
  }

  nextTs(): string {
    this.seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`;
  }

  newId(prefix: string): string {
    return `${prefix}${(++this.ids).toString(36).toUpperCase()}${randomBytes(4).toString('hex').toUpperCase()}`;
  }

  // ----- queries for assertions -----

  /** Messages the bot posted at the top of a channel (no thread). */
  topLevel(channel: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel && !m.threadTs);
  }

  /** Messages the bot posted in a thread. */
  inThread(channel: string, threadTs: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === threadTs);
  }

  inChannel(channel: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel);
  }

  responsesTo(user: string): FakeResponse[] {
    return this.responses.filter((r) => r.context.user === user);
  }

  ephemeralsTo(user: string): FakeEphemeral[] {
    return this.ephemerals.filter((e) => e.user === user);
  }

  callsOf(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  // ----- HTTP -----

  private send(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      await this.api(url.pathname.slice('/api/'.length), req, res);
      return;
    }
    // Private files need "an authorization header with a token that has either the files:read
    // or read scopes" (https://medium.com/slack-developer-blog/important-changes-to-files-in-the-web-api-eb38f2a9c1e7);
    // without the workspace's token the fake answers 403.
    const file = /^\/files-pri\/([A-Z0-9]+)-(F[A-Za-z0-9]+)\//.exec(url.pathname);
    if (req.method === 'GET' && file) {
      const found = this.files.get(file[2]!);
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const workspace = found ? this.workspaces.get(found.teamId) : undefined;
      const authorized =
        workspace !== undefined && bearer === workspace.botToken && !this.revoked.has(bearer);
      this.fileDownloads.push({ id: file[2]!, authorized, at: Date.now() });
      if (!found) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('file not found');
        return;
      }
      if (!authorized) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden');
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': found.bytes.length,
      });
      res.end(found.bytes);
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/response/')) {
      await this.response(url.pathname.slice('/response/'.length), req, res);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/oauth/v2/authorize') {
      this.authorize(url, res);
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  }

  private authorize(url: URL, res: ServerResponse): void {
    const redirect = url.searchParams.get('redirect_uri');
    const state = url.searchParams.get('state') ?? '';
    if (url.searchParams.get('client_id') !== this.options.clientId || !redirect) {
      res.statusCode = 400;
      res.end('invalid client_id or redirect_uri');
      return;
    }
    const target = new URL(redirect);
    const workspace = this.pendingInstall;
    this.pendingInstall = undefined;
    if (!workspace) {
      target.searchParams.set('error', 'access_denied');
    } else {
      const code = `${Date.now()}.${randomBytes(12).toString('hex')}`;
      this.codes.set(code, { workspace, redirectUri: redirect, used: false });
      target.searchParams.set('code', code);
    }
    target.searchParams.set('state', state);
    res.writeHead(302, { location: target.toString() });
    res.end();
  }

  private async response(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const entry = this.responseUrls.get(id);
    if (!entry || Date.now() - entry.created > RESPONSE_URL_TTL_MS) {
      res.statusCode = 404;
      res.end('expired_url');
      return;
    }
    if (entry.uses >= RESPONSE_URL_USES) {
      res.statusCode = 404;
      res.end('used_url');
      return;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      res.statusCode = 400;
      res.end('invalid_payload');
      return;
    }
    let body: Json;
    try {
      body = JSON.parse(raw) as Json;
    } catch {
      res.statusCode = 400;
      res.end('invalid_payload');
      return;
    }
    if (body.blocks !== undefined && blockProblem(body.blocks)) {
      res.statusCode = 400;
      res.end('invalid_blocks');
      return;
    }
    entry.uses += 1;
    this.responses.push({ id, context: entry.context, body });
    res.statusCode = 200;
    res.end('ok');
  }

  /** Whether Slack answers this call with 429: per channel for posts, per workspace for edits. */
  private limited(method: string, teamId: string, channel: string): boolean {
    const hook = this.every.get(method);
    if (hook) {
      hook.count += 1;
      if (hook.count % hook.n === 0) return true;
    }
    if (method === 'chat.update') {
      let window = this.windows.get(teamId);
      if (!window) {
        window = new SlidingWindow(this.options.updateLimit ?? { max: 50, windowMs: 60_000 });
        this.windows.set(teamId, window);
      }
      return !window.take();
    }
    if (method !== 'chat.postMessage') return false;
    // "generally allows posting one message per second per channel" (the rate limits page).
    const id = `${method}:${teamId}:${channel}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = new Bucket(this.options.postLimit ?? { burst: 6, perSecond: 1 });
      this.buckets.set(id, bucket);
    }
    return !bucket.take();
  }

  /**
   * Where the bot may post (chat.postMessage, chat.postEphemeral). chat:write covers the
   * conversations the app is a member of; chat:write.public adds public channels it is not in
   * (https://docs.slack.dev/reference/scopes/chat.write.public: "Send messages to channels your
   * Slack app isn't a member of"). Anywhere else chat.postMessage answers `not_in_channel` (a
   * public channel without chat:write.public) or `channel_not_found` (a private channel, a DM
   * between people or a group DM the app is not in, which it cannot see at all):
   * https://docs.slack.dev/reference/methods/chat.postMessage#errors
   */
  private postProblem(
    workspace: FakeWorkspace,
    scopes: readonly string[],
    channelId: string,
  ): string | undefined {
    if (!scopes.includes('chat:write')) return 'missing_scope';
    const c = this.channel(workspace.teamId, channelId);
    if (c.members.includes(workspace.botUserId)) return undefined;
    if (c.kind === 'public') return scopes.includes('chat:write.public') ? undefined : 'not_in_channel';
    return 'channel_not_found';
  }

  private async api(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let args: Json;
    try {
      args = parseApiBody(req.headers['content-type'], raw);
    } catch {
      this.send(res, 200, { ok: false, error: 'invalid_json' });
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    const workspace = [...this.workspaces.values()].find((w) => w.botToken === token);
    const calledChannel = typeof args.channel === 'string' ? args.channel : undefined;
    const record = (status: number, error?: string, retryAfterS?: number) =>
      this.calls.push({
        method,
        token,
        teamId: workspace?.teamId,
        status,
        error,
        at: Date.now(),
        channel: calledChannel,
        ...(retryAfterS !== undefined ? { retryAfterS } : {}),
      });
    const scopes: readonly string[] = workspace?.scopes ?? DEFAULT_BOT_SCOPES;
    // Slack names the token's scopes in every answer (the Web API client exposes them as
    // response_metadata.scopes): https://docs.slack.dev/authentication/tokens
    const scopeHeader: Record<string, string> = workspace ? { 'x-oauth-scopes': scopes.join(',') } : {};
    const fail = (error: string, extra: Json = {}) => {
      record(200, error);
      this.send(res, 200, { ok: false, error, ...extra }, scopeHeader);
    };
    const ok = (body: Json) => {
      record(200);
      this.send(res, 200, { ok: true, ...body }, scopeHeader);
    };
    const missingScope = (needed: string) => fail('missing_scope', { needed, provided: scopes.join(',') });

    if (method === 'oauth.v2.access') {
      this.oauthAccess(args, req, ok, fail);
      return;
    }
    if (method === 'apps.connections.open') {
      if (!token) return fail('not_authed');
      if (token !== this.options.appToken) return fail('invalid_auth');
      ok({ url: this.socket.urlFor(this.url) });
      return;
    }
    if (!token) return fail('not_authed');
    if (this.revoked.has(token)) return fail('token_revoked');
    if (!workspace) return fail('invalid_auth');
    const queued = this.failures.get(method);
    if (queued && queued.length > 0) return fail(queued.shift()!);

    switch (method) {
      case 'conversations.info': {
        const id = typeof args.channel === 'string' ? args.channel : '';
        if (!id) return fail('channel_not_found');
        const c = this.channel(workspace.teamId, id);
        const member = c.members.includes(workspace.botUserId);
        // https://docs.slack.dev/reference/methods/conversations.info: a private channel, DM or
        // group DM the app is not in is `channel_not_found` to it; each kind needs its own read
        // scope (channels:read, groups:read, im:read, mpim:read), else `missing_scope`.
        if (c.kind !== 'public' && !member) return fail('channel_not_found');
        const needed = { public: 'channels:read', private: 'groups:read', im: 'im:read', mpim: 'mpim:read' }[
          c.kind
        ];
        if (!scopes.includes(needed)) return missingScope(needed);
        const other = c.members.find((u) => u !== workspace.botUserId);
        return ok({
          channel: {
            id: c.id,
            ...(c.kind === 'im'
              ? { user: other, is_user_deleted: false }
              : { name: c.name ?? c.id.toLowerCase() }),
            is_channel: c.kind === 'public' || c.kind === 'private',
            is_group: c.kind === 'private',
            is_im: c.kind === 'im',
            is_mpim: c.kind === 'mpim',
            is_private: c.kind !== 'public',
            is_archived: false,
            context_team_id: workspace.teamId,
            ...(c.kind === 'im' ? {} : { is_member: member }),
          },
        });
      }
      case 'auth.test':
        return ok({
          url: `https://${workspace.name.toLowerCase().replace(/\W+/g, '')}.slack.com/`,
          team: workspace.name,
          user: 'spawnai',
          team_id: workspace.teamId,
          user_id: workspace.botUserId,
          bot_id: workspace.botId,
          is_enterprise_install: false,
        });
      case 'chat.postMessage':
      case 'chat.postEphemeral':
      case 'chat.update': {
        const channel = typeof args.channel === 'string' ? args.channel : '';
        if (!channel) return fail('channel_not_found');
        const text = typeof args.text === 'string' ? args.text : '';
        const blocks = args.blocks;
        if (blocks === Symbol.for('invalid-json')) return fail('invalid_blocks');
        if (blocks !== undefined && blockProblem(blocks)) {
          return fail('invalid_blocks', { response_metadata: { messages: [blockProblem(blocks)] } });
        }
        if (!text && blocks === undefined) return fail('no_text');
        if (text.length > 40_000) return fail('msg_too_long');
        if (method !== 'chat.update') {
          const problem = this.postProblem(workspace, scopes, channel);
          if (problem === 'missing_scope') return missingScope('chat:write');
          if (problem) return fail(problem);
        }
        const forced = this.forced.find((f) => f.method === method && f.times > 0);
        if (forced) forced.times -= 1;
        if (forced || (method !== 'chat.postEphemeral' && this.limited(method, workspace.teamId, channel))) {
          const retryAfterS = forced?.retryAfterS ?? this.options.retryAfterS ?? 1;
          record(429, undefined, retryAfterS);
          res.writeHead(429, { 'retry-after': String(retryAfterS), 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
          return;
        }
        const shown = { text, blocks: (blocks as Json[] | undefined) ?? [] };
        const edit = { ...shown, at: Date.now() };
        if (method === 'chat.postEphemeral') {
          const user = typeof args.user === 'string' ? args.user : '';
          if (!user) return fail('user_not_found');
          this.ephemerals.push({
            teamId: workspace.teamId,
            channel,
            user,
            threadTs: typeof args.thread_ts === 'string' ? args.thread_ts : undefined,
            ...shown,
          });
          return ok({ message_ts: this.nextTs() });
        }
        if (method === 'chat.update') {
          const ts = typeof args.ts === 'string' ? args.ts : '';
          const message = this.messages.find(
            (m) => m.teamId === workspace.teamId && m.channel === channel && m.ts === ts,
          );
          if (!message) return fail('message_not_found');
          message.edits.push(edit);
          Object.assign(message, shown);
          return ok({ channel, ts, text });
        }
        const threadTs = typeof args.thread_ts === 'string' && args.thread_ts ? args.thread_ts : undefined;
        const ts = this.nextTs();
        this.messages.push({
          teamId: workspace.teamId,
          channel,
          ts,
          threadTs,
          token: token!,
          edits: [edit],
          ...shown,
        });
        return ok({
          channel,
          ts,
          message: { type: 'message', user: workspace.botUserId, bot_id: workspace.botId, text, ts },
        });
      }
      default:
        return fail('unknown_method');
    }
  }

  private oauthAccess(
    args: Json,
    req: IncomingMessage,
    ok: (body: Json) => void,
    fail: (error: string) => void,
  ): void {
    // Client credentials come as form fields or HTTP Basic auth.
    let clientId = typeof args.client_id === 'string' ? args.client_id : undefined;
    let clientSecret = typeof args.client_secret === 'string' ? args.client_secret : undefined;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (basic) [clientId, clientSecret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    if (clientId !== this.options.clientId) {
      fail('invalid_client_id');
      return;
    }
    if (clientSecret !== this.options.clientSecret) {
      fail('bad_client_secret');
      return;
    }
    const code = typeof args.code === 'string' ? this.codes.get(args.code) : undefined;
    if (!code || code.used) {
      fail('invalid_code');
      return;
    }
    if (args.redirect_uri !== code.redirectUri) {
      fail('bad_redirect_uri');
      return;
    }
    code.used = true;
    const w = code.workspace;
    this.workspaces.set(w.teamId, w);
    ok({
      app_id: 'A0SPAWNAI',
      authed_user: { id: 'U0INSTALLER' },
      scope: (w.scopes ?? DEFAULT_BOT_SCOPES).join(','),
      token_type: 'bot',
      access_token: w.botToken,
      bot_user_id: w.botUserId,
      team: { id: w.teamId, name: w.name },
      enterprise: null,
      is_enterprise_install: false,
    });
  }
}
