import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { FakeDiscord } from './server.js';
import { snowflake } from './snowflake.js';
import type { FakeAttachment, FakeInteraction, FakeMessage, FakeUser } from './state.js';

/** How to spoil a request on purpose. */
export interface SendOptions {
  /** Sign with another key. */
  badSignature?: boolean;
  /** Leave out one or both signature headers. */
  omit?: 'signature' | 'timestamp' | 'both';
  /** Unix seconds to sign with (default now). */
  timestamp?: number;
  /** Send these bytes instead of the JSON payload (still signed). */
  rawBody?: string;
  contentType?: string;
}

export interface SendResult {
  status: number;
  text: string;
  headers: Headers;
  json: unknown;
  elapsedMs: number;
}

/**
 * Discord's side of HTTP interactions: builds interaction payloads shaped like Discord's,
 * signs them with Ed25519 (`timestamp + body`, timestamp in unix seconds) using a key pair made
 * for the test, posts them to the app, and holds the app to the 3 s acknowledgement deadline.
 */
export class FakeInteractions {
  private readonly keys = generateKeyPairSync('ed25519');
  private readonly otherKeys = generateKeyPairSync('ed25519');
  /** The app's Interactions Endpoint URL. */
  target = '';

  constructor(private readonly fake: FakeDiscord) {}

  /** DISCORD_PUBLIC_KEY: the raw 32-byte key in hex (the last 32 bytes of its SPKI DER). */
  get publicKeyHex(): string {
    return this.keys.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  }

  headersFor(body: string, options: SendOptions = {}): Record<string, string> {
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    const key = options.badSignature ? this.otherKeys.privateKey : this.keys.privateKey;
    const signature = sign(null, Buffer.from(timestamp + body), key).toString('hex');
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
    if (options.omit !== 'signature' && options.omit !== 'both') headers['x-signature-ed25519'] = signature;
    if (options.omit !== 'timestamp' && options.omit !== 'both') headers['x-signature-timestamp'] = timestamp;
    return headers;
  }

  async post(payload: unknown, options: SendOptions = {}): Promise<SendResult> {
    const body = options.rawBody ?? JSON.stringify(payload);
    const started = Date.now();
    const res = await fetch(this.target, { method: 'POST', headers: this.headersFor(body, options), body });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, headers: res.headers, json, elapsedMs: Date.now() - started };
  }

  /** Posts a registered interaction and applies Discord's rules to the app's answer. */
  async deliver(interaction: FakeInteraction, options: SendOptions = {}): Promise<SendResult> {
    const result = await this.post(interaction.payload, options);
    this.fake.acknowledgeInResponse(interaction, result.status, result.json, result.elapsedMs);
    return result;
  }

  ping(): Promise<SendResult> {
    return this.post({
      id: snowflake(),
      application_id: this.fake.applicationId,
      type: 1,
      token: token(),
      version: 1,
    });
  }

  private where(user: FakeUser, channelId: string) {
    const channel = this.fake.channels.get(channelId);
    if (!channel) throw new Error(`no channel ${channelId}`);
    const guildId = channel.guild_id;
    const base = {
      channel_id: channel.id,
      channel: {
        id: channel.id,
        type: channel.type,
        ...(guildId ? { guild_id: guildId, name: channel.name } : {}),
      },
      locale: 'en-US',
      app_permissions: '2248473465835073',
      entitlements: [],
    };
    return guildId
      ? {
          ...base,
          guild_id: guildId,
          guild: { id: guildId, locale: 'en-US', features: [] },
          guild_locale: 'en-US',
          member: {
            user,
            roles: [],
            nick: null,
            permissions: '2248473465835073',
            joined_at: new Date().toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
          },
          authorizing_integration_owners: { '0': guildId },
          context: 0,
        }
      : { ...base, user, authorizing_integration_owners: { '0': guildId ?? '' }, context: 1 };
  }

  private register(
    type: number,
    user: FakeUser,
    channelId: string,
    data: unknown,
    extra: Record<string, unknown> = {},
  ) {
    const id = snowflake();
    const t = token();
    const payload = {
      id,
      application_id: this.fake.applicationId,
      type,
      token: t,
      version: 1,
      data,
      ...this.where(user, channelId),
      ...extra,
    };
    const guildId = this.fake.channels.get(channelId)?.guild_id;
    return this.fake.newInteraction({
      id,
      token: t,
      type,
      applicationId: this.fake.applicationId,
      channelId,
      ...(guildId ? { guildId } : {}),
      userId: user.id,
      payload,
    });
  }

  /**
   * `/spawn prompt:<prompt>` by `user` in a channel (guild, thread or DM); with `picture`, the
   * attachment option (type 11) whose value is the attachment id, the attachment object being in
   * `data.resolved.attachments` (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-resolved-data-structure).
   */
  command(
    user: FakeUser,
    channelId: string,
    prompt: string | undefined,
    name = 'spawn',
    picture?: FakeAttachment,
  ): FakeInteraction {
    const options = [
      ...(prompt !== undefined ? [{ name: 'prompt', type: 3, value: prompt }] : []),
      ...(picture ? [{ name: 'picture', type: 11, value: picture.id }] : []),
    ];
    return this.register(2, user, channelId, {
      id: snowflake(),
      name,
      type: 1,
      ...(options.length > 0 ? { options } : {}),
      ...(picture ? { resolved: { attachments: { [picture.id]: picture } } } : {}),
    });
  }

  /** `user` presses the button `customId` on `message`. */
  press(user: FakeUser, message: FakeMessage, customId: string): FakeInteraction {
    return this.register(
      3,
      user,
      message.channel_id,
      { custom_id: customId, component_type: 2 },
      {
        message: {
          id: message.id,
          channel_id: message.channel_id,
          author: message.author,
          flags: message.flags,
        },
      },
    );
  }
}

function token(): string {
  return `aW50ZXJhY3Rpb24${randomBytes(48).toString('base64url')}`;
}
