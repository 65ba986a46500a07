import { ACCOUNT_WORDS, SUBCOMMANDS } from '../../bots/commands.js';
import type { AttachmentRef } from '../../src/core/attachments.js';
import type { PlatformUser } from '../../src/core/platform.js';
import { ACTION_IDS, type ActionId, actionNeedsSession, parseActionTarget } from '../../src/core/view.js';
import { SpawnError } from '../../src/errors.js';
import { SESSION_ID_PATTERN } from '../../src/spawn/ids.js';
import { discordAttachments } from './files.js';

/** Interaction types (Discord's `type` field). */
export const INTERACTION_TYPE = {
  ping: 1,
  applicationCommand: 2,
  messageComponent: 3,
  autocomplete: 4,
  modalSubmit: 5,
} as const;

/** Channel types that are threads: announcement, public and private threads. */
const THREAD_CHANNEL_TYPES: readonly number[] = [10, 11, 12];
const SNOWFLAKE = /^\d{5,25}$/;
const ACTIONS = ACTION_IDS;
/** Discord caps custom_id at 100 characters; ours are `action:sessionId`. */
const CUSTOM_ID_MAX = 100;
const TOKEN_MAX = 1000;

interface Where {
  readonly id: string;
  readonly token: string;
  readonly user: PlatformUser;
  /** Absent in DMs. */
  readonly guildId: string | undefined;
  readonly channelId: string;
  readonly channelIsThread: boolean;
}

/** A verified interaction, reduced to what SpawnAI needs. */
export type ParsedInteraction =
  | { readonly kind: 'ping'; readonly id: string }
  | (Where & {
      readonly kind: 'command';
      readonly name: string;
      /** The `prompt` option (`/spawn prompt:<text>`), if given. */
      readonly prompt: string | undefined;
      /** The `picture` attachment option, resolved to its attachment object. */
      readonly attachments?: readonly AttachmentRef[];
    })
  | (Where & {
      readonly kind: 'component';
      readonly action: ActionId;
      /** Empty for actions about no app (upgrade, buy). */
      readonly sessionId: string;
      /** Undo: the version it goes back to. */
      readonly version?: number;
      /** The message that holds the button. */
      readonly messageId: string | undefined;
    });

type Json = Record<string, unknown>;

function bad(why: string): never {
  throw new SpawnError('ERR_BAD_REQUEST', `Malformed Discord interaction: ${why}.`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function snowflake(v: unknown, what: string): string {
  if (typeof v !== 'string' || !SNOWFLAKE.test(v)) bad(`${what} is not an id`);
  return v;
}

function optionalSnowflake(v: unknown, what: string): string | undefined {
  return v === undefined || v === null ? undefined : snowflake(v, what);
}

/** Guild interactions carry `member.user`, DMs carry `user`. */
function userOf(body: Json): PlatformUser {
  const raw = isObject(body.member) ? body.member.user : body.user;
  if (!isObject(raw)) bad('no user');
  const id = snowflake(raw.id, 'user.id');
  const nick = isObject(body.member) && typeof body.member.nick === 'string' ? body.member.nick : undefined;
  const global = typeof raw.global_name === 'string' ? raw.global_name : undefined;
  const username = typeof raw.username === 'string' ? raw.username : undefined;
  return { id, name: (nick ?? global ?? username ?? id).slice(0, 100) };
}

/** `stop:k7fq2m9xwd` → the action and the session it is about. */
export function parseCustomId(
  customId: string,
): { action: ActionId; sessionId: string; version?: number } | undefined {
  if (customId.length > CUSTOM_ID_MAX) return undefined;
  const m = /^([a-z-]+):([a-z0-9]*(?:\.\d+)?)$/.exec(customId);
  if (!m) return undefined;
  const action = m[1] as ActionId;
  const target = parseActionTarget(m[2]!);
  if (!target || !ACTIONS.includes(action)) return undefined;
  // Undo names the version it goes back to; nothing else names one.
  if ((action === 'undo') !== (target.version !== undefined)) return undefined;
  const { sessionId } = target;
  const needsSession = actionNeedsSession(action);
  if (
    needsSession
      ? !SESSION_ID_PATTERN.test(sessionId)
      : sessionId !== '' && !SESSION_ID_PATTERN.test(sessionId)
  )
    return undefined;
  return { action, sessionId, ...(target.version !== undefined ? { version: target.version } : {}) };
}

/** The string option `name` of a chat-input command, if present. */
function stringOption(data: Json, name: string): string | undefined {
  const options = data.options;
  if (options === undefined) return undefined;
  if (!Array.isArray(options)) bad('options is not a list');
  for (const option of options) {
    if (isObject(option) && option.name === name) {
      if (typeof option.value !== 'string') bad(`option ${name} is not text`);
      return option.value;
    }
  }
  return undefined;
}

/**
 * An attachment option: its value is the attachment's id, and the attachment object itself is in
 * `data.resolved.attachments[id]` (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-resolved-data-structure).
 */
function attachmentOption(data: Json, name: string): AttachmentRef[] {
  const options = Array.isArray(data.options) ? data.options : [];
  const option = options.find((o): o is Json => isObject(o) && o.name === name);
  if (!option) return [];
  const id = snowflake(option.value, `option ${name}`);
  const resolved =
    isObject(data.resolved) && isObject(data.resolved.attachments) ? data.resolved.attachments : {};
  const a = resolved[id];
  if (!isObject(a) || typeof a.url !== 'string' || typeof a.size !== 'number')
    bad(`attachment ${id} not resolved`);
  return discordAttachments([
    {
      id,
      filename: typeof a.filename === 'string' ? a.filename : id,
      ...(typeof a.content_type === 'string' ? { content_type: a.content_type } : {}),
      size: a.size,
      url: a.url,
    },
  ]);
}

/**
 * Parses a verified interaction body. Anything SpawnAI does not handle (autocomplete, modals,
 * buttons it never made, another application's interaction) is a 400 that changes nothing.
 */
export function parseInteraction(body: unknown, applicationId: string): ParsedInteraction {
  if (!isObject(body)) bad('not an object');
  const id = snowflake(body.id, 'id');
  const type = body.type;
  if (type === INTERACTION_TYPE.ping) return { kind: 'ping', id };
  if (body.application_id !== applicationId) bad('it is for another application');
  const token = body.token;
  if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_MAX || !/^[\w.-]+$/.test(token))
    bad('no token');
  const channel = isObject(body.channel) ? body.channel : undefined;
  const where: Where = {
    id,
    token,
    user: userOf(body),
    guildId: optionalSnowflake(body.guild_id, 'guild_id'),
    channelId: snowflake(body.channel_id ?? channel?.id, 'channel_id'),
    channelIsThread: typeof channel?.type === 'number' && THREAD_CHANNEL_TYPES.includes(channel.type),
  };
  const data = body.data;
  if (!isObject(data)) bad('no data');

  if (type === INTERACTION_TYPE.applicationCommand) {
    if (typeof data.name !== 'string' || !/^[\w-]{1,32}$/.test(data.name)) bad('no command name');
    const attachments = attachmentOption(data, 'picture');
    return {
      ...where,
      kind: 'command',
      name: data.name.toLowerCase(),
      prompt: stringOption(data, 'prompt'),
      ...(attachments.length > 0 ? { attachments } : {}),
    };
  }
  if (type === INTERACTION_TYPE.messageComponent) {
    if (typeof data.custom_id !== 'string') bad('no custom_id');
    const parsed = parseCustomId(data.custom_id);
    if (!parsed) bad('unknown button');
    const message = isObject(body.message) ? body.message : undefined;
    return {
      ...where,
      kind: 'component',
      ...parsed,
      messageId: optionalSnowflake(message?.id, 'message.id'),
    };
  }
  return bad(`type ${String(type)} is not handled`);
}

/**
 * Whether `/spawn prompt:<text>` asks for a build (answered in public: the status card is for
 * everyone) rather than `status`, `list`, `help`... (answered only to the person who asked).
 * Decided before the conversation runs, because the deferred answer must go out within 3 s.
 */
export function isBuildRequest(prompt: string | undefined): boolean {
  const [word = '', ...rest] = (prompt ?? '').trim().split(/\s+/);
  // `link <code>` / `unlink` (bots/account.ts): a code must never be answered in public.
  if ((ACCOUNT_WORDS as readonly string[]).includes(word.toLowerCase()) && rest.join(' ').length <= 9)
    return false;
  // `rollback 2` is answered like a change: its card is for everyone in the channel.
  if (!(SUBCOMMANDS as readonly string[]).includes(word.toLowerCase())) return word !== '';
  return !(rest.length === 0 || (rest.length === 1 && SESSION_ID_PATTERN.test(rest[0]!)));
}
