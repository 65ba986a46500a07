import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeGateway, type FakeGatewayOptions, INTENTS } from './gateway.js';
import { handleRequest } from './http.js';
import { FakeInteractions } from './interactions.js';
import { guildCreateJson } from './payloads.js';
import { type BucketRule, Buckets } from './rate-limit.js';
import { discordRoutes, type Route } from './routes.js';
import { snowflake } from './snowflake.js';
import {
  ApiError,
  type FakeAttachment,
  type FakeChannel,
  type FakeGuild,
  type FakeInteraction,
  type FakeMessage,
  type FakeUser,
  INTERACTION_ACK_DEADLINE_MS,
  INTERACTION_TOKEN_TTL_MS,
  MESSAGE_FLAGS,
  type MessageState,
  messageJson,
  validateInteractionResponse,
  validateMessageBody,
} from './state.js';

export interface FakeDiscordOptions extends FakeGatewayOptions {
  /** Per-route bucket size; default 5 requests per 5 s per route and major parameter. */
  bucket?: BucketRule;
}

export interface RecordedRequest {
  method: string;
  /** The path after `/api/v10`, tokens included (the fake's own log). */
  path: string;
  /** The bucket key: route with its major parameter, other ids as `:id`. */
  route: string;
  status: number;
  body: unknown;
  auth: boolean;
  at: number;
}

/**
 * A local Discord: the REST routes SpawnAI and discord.js use (`/api/v10/...`), with Discord's
 * auth, error shapes, message validation and per-route buckets (429 + Retry-After); a gateway
 * WebSocket ({@link FakeGateway}); and signed interaction posts ({@link FakeInteractions}).
 */
export class FakeDiscord {
  readonly botToken = `fake.${randomBytes(12).toString('base64url')}`;
  readonly applicationId = snowflake();
  readonly botUser: FakeUser = {
    id: this.applicationId,
    username: 'SpawnAI',
    global_name: null,
    discriminator: '0',
    avatar: null,
    bot: true,
  };
  readonly guilds = new Map<string, FakeGuild>();
  readonly channels = new Map<string, FakeChannel>();
  readonly messages = new Map<string, FakeMessage>();
  readonly interactions = new Map<string, FakeInteraction>();
  readonly commands = new Map<string, unknown[]>();
  readonly requests: RecordedRequest[] = [];
  /** Requests (by bucket key) that fail with a status, or hang, before any route runs. */
  /** Requests (by bucket key) that fail or hang before any route runs; see failNext/delayNext. */
  readonly faults: { match: RegExp; times: number; status?: number; delayMs?: number }[] = [];
  /** Test hook run right after an interaction is acknowledged (e.g. to expire its token). */
  afterAck: ((interaction: FakeInteraction) => void) | undefined;
  readonly buckets: Buckets;
  readonly gateway: FakeGateway;
  readonly signer: FakeInteractions;
  private server: Server | undefined;
  private readonly routes: Route[];
  url = '';

  constructor(options: FakeDiscordOptions = {}) {
    const rule = options.bucket ?? { limit: 5, windowMs: 5000 };
    this.buckets = new Buckets(() => rule);
    this.gateway = new FakeGateway(
      {
        botToken: this.botToken,
        botUser: this.botUser,
        applicationId: this.applicationId,
        guildIds: () => [...this.guilds.keys()],
        guildCreate: (id) => guildCreateJson(this.guilds.get(id)!, [...this.channels.values()]),
      },
      () => this.url,
      options,
    );
    this.signer = new FakeInteractions(this);
    this.routes = discordRoutes(this);
  }

  /** Attachment bytes on the fake CDN, by attachment id. */
  readonly cdnFiles = new Map<string, Buffer>();
  /** Every CDN request: which attachment and whether its signature was valid and unexpired. */
  readonly cdnRequests: { id: string; signed: boolean; at: number }[] = [];
  private readonly cdnKey = randomBytes(16);

  /**
   * The signed CDN URL of an attachment, as https://discord.com/developers/docs/reference
   * ("Signed Attachment CDN URLs") describes it: `ex` (hex expiry timestamp), `is` (hex issue
   * timestamp) and `hm` (the signature, valid until `ex`). The CDN answers 404 without a valid one.
   */
  private signedUrl(path: string, ttlS = 24 * 3600): string {
    const is = Math.floor(Date.now() / 1000);
    const ex = (is + ttlS).toString(16);
    const hm = createHmac('sha256', this.cdnKey).update(`${path}:${ex}`).digest('hex');
    return `${this.url}${path}?ex=${ex}&is=${is.toString(16)}&hm=${hm}&`;
  }

  private cdn(raw: string, res: ServerResponse): void {
    const url = new URL(raw, 'http://x');
    const m = /^\/attachments\/\d+\/(\d+)\/[^/]+$/.exec(url.pathname);
    const ex = url.searchParams.get('ex') ?? '';
    const expected = createHmac('sha256', this.cdnKey).update(`${url.pathname}:${ex}`).digest('hex');
    const signed = url.searchParams.get('hm') === expected && Number.parseInt(ex, 16) * 1000 > Date.now();
    const bytes = m ? this.cdnFiles.get(m[1]!) : undefined;
    this.cdnRequests.push({ id: m?.[1] ?? '', signed, at: Date.now() });
    if (!bytes || !signed) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This content is no longer available.');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.end(bytes);
  }

  /**
   * A file a person attaches to a message: its attachment object with a signed CDN url.
   * `declaredSize` overrides `size`; `contentType: undefined` leaves `content_type` out (optional).
   */
  attachment(
    channelId: string,
    file: { filename: string; contentType?: string; bytes: Buffer; declaredSize?: number },
  ): FakeAttachment {
    const id = snowflake();
    this.cdnFiles.set(id, file.bytes);
    const url = this.signedUrl(`/attachments/${channelId}/${id}/${encodeURIComponent(file.filename)}`);
    return {
      id,
      filename: file.filename,
      ...(file.contentType ? { content_type: file.contentType } : {}),
      size: file.declaredSize ?? file.bytes.length,
      url,
      proxy_url: url,
    };
  }

  /** `DISCORD_API_URL` for the app. */
  get apiUrl(): string {
    return `${this.url}/api`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      if (req.method === 'GET' && (req.url ?? '').startsWith('/attachments/')) {
        this.cdn(req.url ?? '', res);
        return;
      }
      handleRequest(this, this.routes, req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ message: String(e), code: 0 }));
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await this.gateway.close();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** The next `times` requests whose bucket key matches answer `status` (e.g. 502). */
  failNext(match: RegExp, status: number, times = 1): void {
    this.faults.push({ match, times, status });
  }

  /** The next `times` requests whose bucket key matches are held for `delayMs` first. */
  delayNext(match: RegExp, delayMs: number, times = 1): void {
    this.faults.push({ match, times, delayMs });
  }

  // ---- the world -------------------------------------------------------------------------

  user(username: string): FakeUser {
    return {
      id: snowflake(),
      username,
      global_name: username[0]!.toUpperCase() + username.slice(1),
      discriminator: '0',
      avatar: null,
    };
  }

  addGuild(name = 'Climbing Gym'): { guild: FakeGuild; channel: FakeChannel } {
    const guild: FakeGuild = { id: snowflake(), name, owner_id: snowflake() };
    this.guilds.set(guild.id, guild);
    const channel = this.addChannel(guild.id, 'general');
    return { guild, channel };
  }

  addChannel(guildId: string, name: string, type = 0): FakeChannel {
    const channel: FakeChannel = { id: snowflake(), type, guild_id: guildId, name, parent_id: null };
    this.channels.set(channel.id, channel);
    return channel;
  }

  dmChannel(user: FakeUser): FakeChannel {
    const existing = [...this.channels.values()].find(
      (c) => c.type === 1 && c.recipients?.[0]?.id === user.id,
    );
    if (existing) return existing;
    const channel: FakeChannel = { id: snowflake(), type: 1, recipients: [user] };
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** Non-deleted messages of a channel, oldest first. */
  messagesIn(channelId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId && !m.deleted);
  }

  /** A person writes in a channel (guild, thread or DM): stored and dispatched over the gateway. */
  say(
    author: FakeUser,
    channelId: string,
    content: string,
    options: { mentionBot?: boolean; attachments?: FakeAttachment[] } = {},
  ): FakeMessage {
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`no channel ${channelId}`);
    const text = options.mentionBot ? `<@${this.botUser.id}> ${content}` : content;
    const message = this.store(
      channel,
      author,
      { content: text, embeds: [], components: [], flags: 0 },
      'gateway',
    );
    if (options.mentionBot) message.mentions = [this.botUser];
    if (options.attachments) message.attachments = options.attachments;
    this.dispatchMessage(message);
    return message;
  }

  /** Stores a recorded MESSAGE_CREATE payload as a message and dispatches it exactly as given. */
  inject(d: Record<string, unknown>): FakeMessage {
    const author = d.author as FakeUser;
    const message: FakeMessage = {
      id: String(d.id),
      channel_id: String(d.channel_id),
      ...(typeof d.guild_id === 'string' ? { guild_id: d.guild_id } : {}),
      author,
      content: String(d.content ?? ''),
      embeds: [],
      components: [],
      flags: 0,
      mentions: (d.mentions as FakeUser[] | undefined) ?? [],
      timestamp: String(d.timestamp),
      edited_timestamp: null,
      deleted: false,
      history: [
        {
          content: String(d.content ?? ''),
          embeds: [],
          components: [],
          flags: 0,
          via: 'gateway',
          at: Date.now(),
        },
      ],
    };
    this.messages.set(message.id, message);
    this.gateway.dispatch(
      'MESSAGE_CREATE',
      d,
      message.guild_id ? INTENTS.guildMessages : INTENTS.directMessages,
    );
    return message;
  }

  /** Delivers an already-seen message again (a duplicate delivery). */
  redeliver(message: FakeMessage): void {
    this.dispatchMessage(message);
  }

  /** @internal used by the REST routes */
  dispatchMessage(m: FakeMessage): void {
    if (m.ephemeralFor) return;
    const channel = this.channels.get(m.channel_id);
    const guild = m.guild_id !== undefined;
    const d = {
      ...messageJson(m),
      channel_type: channel?.type ?? 0,
      ...(guild && !m.author.bot
        ? {
            member: {
              roles: [],
              joined_at: new Date().toISOString(),
              nick: null,
              deaf: false,
              mute: false,
              flags: 0,
            },
          }
        : {}),
    };
    this.gateway.dispatch('MESSAGE_CREATE', d, guild ? INTENTS.guildMessages : INTENTS.directMessages);
  }

  /** @internal used by the REST routes */
  store(
    channel: FakeChannel,
    author: FakeUser,
    state: Omit<MessageState, 'via' | 'at'>,
    via: MessageState['via'],
    extra: Partial<FakeMessage> = {},
  ): FakeMessage {
    const message: FakeMessage = {
      id: snowflake(),
      channel_id: channel.id,
      ...(channel.guild_id ? { guild_id: channel.guild_id } : {}),
      author,
      ...state,
      mentions: [],
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      deleted: false,
      history: [{ ...state, via, at: Date.now() }],
      ...extra,
    };
    this.messages.set(message.id, message);
    return message;
  }

  /** @internal used by the REST routes */
  edit(message: FakeMessage, body: unknown, via: MessageState['via']): FakeMessage {
    const parts = validateMessageBody(body, { requireSomething: false });
    message.content = parts.content ?? message.content;
    message.embeds = parts.embeds ?? message.embeds;
    message.components = parts.components ?? message.components;
    message.flags &= ~MESSAGE_FLAGS.loading;
    message.edited_timestamp = new Date().toISOString();
    message.history.push({
      content: message.content,
      embeds: message.embeds,
      components: message.components,
      flags: message.flags,
      via,
      at: Date.now(),
    });
    return message;
  }

  // ---- interactions ----------------------------------------------------------------------

  /** Registers an interaction Discord is about to send (the callback route checks it). */
  newInteraction(i: Omit<FakeInteraction, 'expired' | 'followUps' | 'createdAt'>): FakeInteraction {
    const interaction: FakeInteraction = { ...i, createdAt: Date.now(), expired: false, followUps: [] };
    this.interactions.set(interaction.token, interaction);
    return interaction;
  }

  /** Every interaction token stops working now, as after 15 minutes. */
  expireInteractionTokens(): void {
    for (const i of this.interactions.values()) i.expired = true;
  }

  /** Called by the signer with the app's HTTP answer to an interaction. */
  acknowledgeInResponse(i: FakeInteraction, status: number, body: unknown, elapsedMs: number): void {
    if (elapsedMs > INTERACTION_ACK_DEADLINE_MS) {
      i.failed = `answered after ${elapsedMs} ms`;
      return;
    }
    if (i.ack) return;
    if (status !== 200) {
      i.failed = `answered ${status} without acknowledging`;
      return;
    }
    // The answer in the body is held to the same rules as the callback endpoint's; one Discord
    // refuses leaves the person with "This interaction failed".
    try {
      const { type, data } = validateInteractionResponse(i.type, body);
      this.acknowledge(i, type, data, 'response');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      i.failed = `answered with an invalid response: ${e.message}`;
    }
  }

  /** @internal used by the REST routes */
  acknowledge(
    i: FakeInteraction,
    type: number,
    data: { flags?: number },
    via: 'callback' | 'response',
  ): void {
    const ephemeral = ((data.flags ?? 0) & MESSAGE_FLAGS.ephemeral) !== 0;
    i.ack = { type, ephemeral, via, at: Date.now() };
    if (type === 4 || type === 5) {
      const channel = this.channels.get(i.channelId)!;
      const state =
        type === 5
          ? {
              content: '',
              embeds: [],
              components: [],
              flags: MESSAGE_FLAGS.loading | (ephemeral ? MESSAGE_FLAGS.ephemeral : 0),
            }
          : {
              content: '',
              embeds: [],
              components: [],
              flags: ephemeral ? MESSAGE_FLAGS.ephemeral : 0,
              ...validateMessageBody(data, { requireSomething: true }),
            };
      const message = this.store(channel, this.botUser, state, 'callback', {
        webhook_id: this.applicationId,
        interactionId: i.id,
        ...(ephemeral ? { ephemeralFor: i.userId } : {}),
      });
      i.originalMessageId = message.id;
      this.dispatchMessage(message);
    }
    this.afterAck?.(i);
  }

  /** @internal used by the REST routes */
  interactionFor(token: string, appId: string): FakeInteraction {
    const i = this.interactions.get(token);
    if (!i || appId !== this.applicationId) throw new ApiError(404, 10015, 'Unknown Webhook');
    if (i.expired || Date.now() - i.createdAt > INTERACTION_TOKEN_TTL_MS) {
      throw new ApiError(401, 50027, 'Invalid Webhook Token');
    }
    return i;
  }

  // ---- REST ------------------------------------------------------------------------------
}
