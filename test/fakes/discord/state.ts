/** Shapes the fake keeps, close to Discord's own objects. */

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: '0';
  avatar: null;
  bot?: boolean;
}

/** Channel types used here: 0 guild text, 1 DM, 4 category, 11 public thread. */
export interface FakeChannel {
  id: string;
  type: number;
  guild_id?: string;
  name?: string;
  parent_id?: string | null;
  recipients?: FakeUser[];
  owner_id?: string;
  /** Test knob: the bot lacks permission to post here (403 50013). */
  forbidden?: boolean;
}

export interface FakeGuild {
  id: string;
  name: string;
  owner_id: string;
}

export interface Embed {
  title?: string;
  description?: string;
  color?: number;
  fields?: { name: string; value: string; inline?: boolean }[];
  footer?: { text: string };
}

export interface Button {
  type: 2;
  style: number;
  label?: string;
  custom_id?: string;
  url?: string;
}

export interface ActionRow {
  type: 1;
  components: Button[];
}

/** One state of a message: as created, then after each edit. */
export interface MessageState {
  content: string;
  embeds: Embed[];
  components: ActionRow[];
  flags: number;
  /** How this state was written: a channel route, the interaction webhook, or a callback. */
  via: 'channel' | 'webhook' | 'callback' | 'gateway';
  at: number;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: FakeUser;
  content: string;
  embeds: Embed[];
  components: ActionRow[];
  flags: number;
  mentions: FakeUser[];
  message_reference?: { message_id: string; channel_id: string; guild_id?: string };
  timestamp: string;
  edited_timestamp: string | null;
  webhook_id?: string;
  /** The interaction this message answers (original response or follow-up). */
  interactionId?: string;
  /** Ephemeral: only this user sees it. */
  ephemeralFor?: string;
  deleted: boolean;
  history: MessageState[];
  /** Files attached by a person (https://discord.com/developers/docs/resources/message#attachment-object). */
  attachments?: FakeAttachment[];
}

/** The attachment object: id, filename, content_type, size, url (signed CDN url), proxy_url. */
export interface FakeAttachment {
  readonly id: string;
  readonly filename: string;
  readonly content_type?: string;
  readonly size: number;
  readonly url: string;
  readonly proxy_url: string;
}

export interface FakeInteraction {
  id: string;
  token: string;
  type: number;
  applicationId: string;
  channelId: string;
  guildId?: string;
  userId: string;
  createdAt: number;
  payload: Record<string, unknown>;
  /** The callback or in-body response that acknowledged it. */
  ack?: { type: number; ephemeral: boolean; via: 'callback' | 'response'; at: number };
  originalMessageId?: string;
  /** Set by the test (or after 15 minutes): webhook routes answer 401 50027. */
  expired: boolean;
  /** Why Discord would show "This interaction failed". */
  failed?: string;
  followUps: string[];
}

export const MESSAGE_FLAGS = { ephemeral: 64, loading: 128 } as const;

/**
 * Flags an initial response may set. A deferred one (type 5) only EPHEMERAL; a message (type 4)
 * only SUPPRESS_EMBEDS (1 << 2), EPHEMERAL (1 << 6), SUPPRESS_NOTIFICATIONS (1 << 12),
 * IS_VOICE_MESSAGE (1 << 13) and IS_COMPONENTS_V2 (1 << 15)
 * (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-data-structure).
 */
const CALLBACK_FLAGS: Readonly<Record<number, number>> = {
  4: (1 << 2) | (1 << 6) | (1 << 12) | (1 << 13) | (1 << 15),
  5: MESSAGE_FLAGS.ephemeral,
};

/**
 * Checks an initial response (from the callback endpoint or in the HTTP answer) as Discord does.
 * Types 6 and 7 are for component interactions only; a type 4 is a whole message and must hold
 * something (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type).
 */
export function validateInteractionResponse(
  interactionType: number,
  body: unknown,
): { type: number; data: { flags?: number } & Record<string, unknown> } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as {
    type?: unknown;
    data?: { flags?: number } & Record<string, unknown>;
  };
  const allowed = interactionType === 3 ? [4, 5, 6, 7] : [4, 5];
  if (typeof b.type !== 'number' || !allowed.includes(b.type)) {
    throw new ApiError(400, 50035, 'Invalid Form Body', {
      type: { _errors: [{ code: 'BASE_TYPE_CHOICES' }] },
    });
  }
  const data = b.data ?? {};
  const flags = data.flags ?? 0;
  const allowedFlags = CALLBACK_FLAGS[b.type];
  if (allowedFlags !== undefined && flags & ~allowedFlags) {
    throw new ApiError(400, 50035, 'Invalid Form Body', {
      data: { flags: { _errors: [{ code: 'FLAGS' }] } },
    });
  }
  if (b.type === 4) validateMessageBody(data, { requireSomething: true });
  return { type: b.type, data };
}
/** An interaction must be acknowledged this soon after Discord sent it. */
export const INTERACTION_ACK_DEADLINE_MS = 3000;
/** Interaction tokens work this long. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;

/** An API error with Discord's JSON shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
  }
}

const LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  embedTotal: 6000,
  rows: 5,
  buttons: 5,
  label: 80,
  customId: 100,
  url: 512,
} as const;

function invalid(path: string, message: string): never {
  throw new ApiError(400, 50035, 'Invalid Form Body', {
    [path]: { _errors: [{ code: 'BASE_TYPE_INVALID', message }] },
  });
}

/** Validates a message body the way Discord does (sizes, button rules) and returns its parts. */
export function validateMessageBody(
  body: unknown,
  { requireSomething }: { requireSomething: boolean },
): Partial<Pick<MessageState, 'content' | 'embeds' | 'components'>> & { flags?: number } {
  if (typeof body !== 'object' || body === null) invalid('body', 'Must be an object');
  const b = body as Record<string, unknown>;
  const out: Partial<Pick<MessageState, 'content' | 'embeds' | 'components'>> & { flags?: number } = {};
  if (b.content !== undefined) {
    if (typeof b.content !== 'string' || b.content.length > LIMITS.content) invalid('content', 'Too long');
    out.content = b.content;
  }
  if (b.embeds !== undefined) {
    if (!Array.isArray(b.embeds) || b.embeds.length > LIMITS.embeds) invalid('embeds', 'Too many embeds');
    let total = 0;
    b.embeds.forEach((raw: unknown, i) => {
      const e = raw as Embed;
      if (e.title !== undefined && (typeof e.title !== 'string' || e.title.length > LIMITS.title))
        invalid(`embeds.${i}.title`, 'Must be 256 or fewer in length.');
      if (
        e.description !== undefined &&
        (typeof e.description !== 'string' || e.description.length > LIMITS.description)
      )
        invalid(`embeds.${i}.description`, 'Must be 4096 or fewer in length.');
      if ((e.fields?.length ?? 0) > LIMITS.fields) invalid(`embeds.${i}.fields`, 'Too many fields');
      for (const [j, f] of (e.fields ?? []).entries()) {
        if (!f.name || f.name.length > LIMITS.fieldName)
          invalid(`embeds.${i}.fields.${j}.name`, 'Bad length');
        if (!f.value || f.value.length > LIMITS.fieldValue)
          invalid(`embeds.${i}.fields.${j}.value`, 'Bad length');
        total += f.name.length + f.value.length;
      }
      if (e.footer && (typeof e.footer.text !== 'string' || e.footer.text.length > LIMITS.footer))
        invalid(`embeds.${i}.footer.text`, 'Bad length');
      total += (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0);
    });
    if (total > LIMITS.embedTotal) invalid('embeds', 'Embed size exceeds maximum size of 6000');
    out.embeds = b.embeds as Embed[];
  }
  if (b.components !== undefined) {
    if (!Array.isArray(b.components) || b.components.length > LIMITS.rows)
      invalid('components', 'Too many rows');
    const ids = new Set<string>();
    b.components.forEach((rawRow: unknown, i) => {
      const row = rawRow as ActionRow;
      if (row.type !== 1 || !Array.isArray(row.components) || row.components.length === 0)
        invalid(`components.${i}`, 'Must be an action row with components');
      if (row.components.length > LIMITS.buttons) invalid(`components.${i}.components`, 'At most 5 buttons');
      row.components.forEach((button, j) => {
        const where = `components.${i}.components.${j}`;
        if (button.type !== 2) invalid(where, 'Only buttons here');
        if (!button.label || button.label.length > LIMITS.label) invalid(`${where}.label`, 'Bad length');
        if (button.style === 5) {
          if (!button.url || !/^https?:\/\//.test(button.url) || button.url.length > LIMITS.url)
            invalid(`${where}.url`, 'Scheme must be one of http, https');
          if (button.custom_id !== undefined)
            invalid(`${where}.custom_id`, 'A link button cannot have a custom id');
        } else {
          if (![1, 2, 3, 4].includes(button.style)) invalid(`${where}.style`, 'Unknown style');
          if (!button.custom_id || button.custom_id.length > LIMITS.customId)
            invalid(`${where}.custom_id`, 'Must be between 1 and 100 in length.');
          if (button.url !== undefined) invalid(`${where}.url`, 'Only link buttons have a url');
          if (ids.has(button.custom_id))
            invalid(`${where}.custom_id`, 'Component custom id cannot be duplicated');
          ids.add(button.custom_id);
        }
      });
    });
    out.components = b.components as ActionRow[];
  }
  if (b.flags !== undefined) {
    if (typeof b.flags !== 'number') invalid('flags', 'Must be a number');
    out.flags = b.flags;
  }
  if (requireSomething && !out.content && !(out.embeds?.length ?? 0) && !(out.components?.length ?? 0)) {
    throw new ApiError(400, 50006, 'Cannot send an empty message');
  }
  return out;
}

/** The message as the API returns it. */
export function messageJson(m: FakeMessage): Record<string, unknown> {
  return {
    id: m.id,
    type: m.message_reference ? 19 : 0,
    channel_id: m.channel_id,
    ...(m.guild_id ? { guild_id: m.guild_id } : {}),
    author: m.author,
    content: m.content,
    embeds: m.embeds,
    components: m.components,
    flags: m.flags,
    mentions: m.mentions,
    mention_roles: [],
    mention_everyone: false,
    attachments: m.attachments ?? [],
    pinned: false,
    tts: false,
    timestamp: m.timestamp,
    edited_timestamp: m.edited_timestamp,
    ...(m.message_reference ? { message_reference: m.message_reference } : {}),
    ...(m.webhook_id ? { webhook_id: m.webhook_id, application_id: m.webhook_id } : {}),
  };
}
