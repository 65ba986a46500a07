import { bareWordCommand } from '../../bots/commands.js';
import type { AttachmentRef } from '../../src/core/attachments.js';
import type { IncomingAction, IncomingMessage } from '../../src/core/incoming.js';
import type { ConversationRef } from '../../src/core/platform.js';
import { ACTION_IDS, type ActionId, actionNeedsSession, parseActionTarget } from '../../src/core/view.js';
import { SpawnError } from '../../src/errors.js';
import type { SlackBody } from './verify.js';

/**
 * Slack payloads (Events API, slash commands, block actions) into our platform-neutral
 * input. Pure functions over validated shapes; this module imports no platform SDK.
 */

/** A slash command's form fields (the ones we use). */
export interface SlashCommand {
  readonly command: string;
  readonly text: string;
  readonly team_id: string;
  readonly user_id: string;
  readonly user_name: string;
  readonly channel_id: string;
  readonly channel_name: string;
  readonly trigger_id: string;
  readonly response_url: string;
  readonly enterprise_id?: string;
  readonly api_app_id?: string;
}

/** An Events API envelope. */
export interface EventEnvelope {
  readonly type: 'event_callback';
  readonly team_id: string;
  readonly event_id: string;
  readonly event_time?: number;
  readonly api_app_id?: string;
  readonly authorizations?: readonly { readonly user_id?: string; readonly is_bot?: boolean }[];
  readonly event: SlackEvent;
}

/** The inner event; `message` and `app_mention` are the ones we act on. */
export interface SlackEvent {
  readonly type: string;
  readonly subtype?: string;
  readonly user?: string;
  readonly bot_id?: string;
  readonly text?: string;
  readonly ts?: string;
  readonly thread_ts?: string;
  readonly channel?: string;
  readonly channel_type?: string;
  readonly [key: string]: unknown;
}

/** A `block_actions` interaction (button press). */
export interface BlockActions {
  readonly type: 'block_actions';
  readonly trigger_id: string;
  readonly response_url?: string;
  readonly user: {
    readonly id: string;
    readonly name?: string;
    readonly username?: string;
    readonly team_id?: string;
  };
  readonly team?: { readonly id: string } | null;
  readonly channel?: { readonly id: string; readonly name?: string };
  readonly message?: { readonly ts: string; readonly thread_ts?: string };
  readonly container?: {
    readonly type?: string;
    readonly channel_id?: string;
    readonly message_ts?: string;
    readonly thread_ts?: string;
    readonly is_ephemeral?: boolean;
  };
  readonly actions: readonly {
    readonly action_id: string;
    readonly value?: string;
    readonly type?: string;
  }[];
}

/** What one verified Slack request is. */
export type SlackInbound =
  | { readonly kind: 'url_verification'; readonly challenge: string }
  | { readonly kind: 'ssl_check' }
  | { readonly kind: 'event'; readonly envelope: EventEnvelope }
  /** Other Events API callbacks (`app_rate_limited`, ...): acknowledged, logged, nothing else. */
  | { readonly kind: 'notice'; readonly type: string }
  | { readonly kind: 'command'; readonly command: SlashCommand }
  | { readonly kind: 'interaction'; readonly type: string; readonly payload: Record<string, unknown> };

const ID = /^[A-Z0-9][A-Z0-9._-]{0,63}$/i;
const TS = /^\d{1,12}\.\d{1,9}$/;

function bad(message: string): never {
  throw new SpawnError('ERR_BAD_REQUEST', `Malformed Slack payload: ${message}.`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '' || (pattern && !pattern.test(v))) bad(`${key} is missing or invalid`);
  return v;
}

function optStr(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

function httpUrl(o: Record<string, unknown>, key: string): string {
  const v = str(o, key);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return bad(`${key} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') bad(`${key} is not an http(s) URL`);
  return v;
}

/** Validates a slash command's fields (throws ERR_BAD_REQUEST). */
export function parseSlashCommand(form: Record<string, unknown>): SlashCommand {
  const enterprise = optStr(form, 'enterprise_id');
  const app = optStr(form, 'api_app_id');
  return {
    command: str(form, 'command', /^\/[\w-]{1,32}$/),
    text: optStr(form, 'text') ?? '',
    team_id: str(form, 'team_id', ID),
    user_id: str(form, 'user_id', ID),
    user_name: optStr(form, 'user_name') ?? '',
    channel_id: str(form, 'channel_id', ID),
    channel_name: optStr(form, 'channel_name') ?? '',
    trigger_id: str(form, 'trigger_id'),
    response_url: httpUrl(form, 'response_url'),
    ...(enterprise ? { enterprise_id: enterprise } : {}),
    ...(app ? { api_app_id: app } : {}),
  };
}

/** Validates an Events API envelope (throws ERR_BAD_REQUEST). */
export function parseEventEnvelope(body: Record<string, unknown>): EventEnvelope {
  const event = body.event;
  if (!isRecord(event) || typeof event.type !== 'string') bad('event is missing');
  str(body, 'team_id', ID);
  str(body, 'event_id', ID);
  for (const key of ['user', 'text', 'ts', 'thread_ts', 'channel', 'subtype', 'bot_id', 'channel_type']) {
    if (event[key] !== undefined && typeof event[key] !== 'string') bad(`event.${key} is not a string`);
  }
  if (event.ts !== undefined && !TS.test(event.ts as string)) bad('event.ts is invalid');
  if (event.thread_ts !== undefined && !TS.test(event.thread_ts as string)) bad('event.thread_ts is invalid');
  if (body.authorizations !== undefined && !Array.isArray(body.authorizations)) bad('authorizations');
  return body as unknown as EventEnvelope;
}

/**
 * Classifies a verified, parsed body. Events must come as JSON, commands and interactivity as
 * forms. Throws ERR_BAD_REQUEST (400) for anything malformed, so nothing downstream runs.
 */
export function classifySlackBody(parsed: SlackBody): SlackInbound {
  const { body } = parsed;
  if (parsed.format === 'json') {
    switch (body.type) {
      case 'url_verification':
        return { kind: 'url_verification', challenge: str(body, 'challenge') };
      case 'event_callback':
        return { kind: 'event', envelope: parseEventEnvelope(body) };
      default:
        if (typeof body.type === 'string' && body.type !== '') return { kind: 'notice', type: body.type };
        return bad('type is missing');
    }
  }
  if (body.ssl_check !== undefined) return { kind: 'ssl_check' };
  if (typeof body.command === 'string') return { kind: 'command', command: parseSlashCommand(body) };
  if (typeof body.type === 'string' && body.type !== '') {
    if (body.type === 'block_actions') parseBlockActions(body);
    return { kind: 'interaction', type: body.type, payload: body };
  }
  return bad('neither a command nor an interaction');
}

/** Validates a `block_actions` payload (throws ERR_BAD_REQUEST). */
export function parseBlockActions(body: Record<string, unknown>): BlockActions {
  if (body.type !== 'block_actions') bad('not block_actions');
  str(body, 'trigger_id');
  const user = body.user;
  if (!isRecord(user)) bad('user is missing');
  str(user, 'id', ID);
  if (!Array.isArray(body.actions) || body.actions.length === 0) bad('actions are missing');
  for (const a of body.actions) {
    if (!isRecord(a) || typeof a.action_id !== 'string') bad('an action has no action_id');
    if (a.value !== undefined && typeof a.value !== 'string') bad('an action value is not a string');
  }
  if (body.response_url !== undefined) httpUrl(body, 'response_url');
  if (body.channel !== undefined && body.channel !== null) {
    if (!isRecord(body.channel)) bad('channel');
    str(body.channel, 'id', ID);
  }
  if (body.message !== undefined && body.message !== null) {
    if (!isRecord(body.message)) bad('message');
    str(body.message, 'ts', TS);
  }
  return body as unknown as BlockActions;
}

/**
 * Slack's message markup back to plain text: the bot's own mention removed, other mentions,
 * channels and links readable, and `&amp; &lt; &gt;` unescaped (Slack escapes them on the way in).
 */
export function plainText(text: string, botUserId?: string): string {
  let t = text;
  if (botUserId) t = t.split(`<@${botUserId}>`).join(' ');
  t = t
    .replace(/<@([UW][A-Z0-9]+)\|([^>]+)>/g, '@$2')
    .replace(/<@([UW][A-Z0-9]+)>/g, '@$1')
    .replace(/<#([CG][A-Z0-9]+)\|([^>]*)>/g, (_m, id: string, name: string) => `#${name || id}`)
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>/g, (_m, name?: string) => name ?? '@group')
    .replace(/<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>/g, '$1');
  return t
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

/** `status`, `stop abc123`, ... alone in a thread reply or DM: the command words of bots/. */
export const threadWordToCommand = bareWordCommand;

/** A Slack DM channel (`D…`): no threads; every message there is for us. */
export function isDirectChannel(channelId: string, channelType?: string): boolean {
  return channelType === 'im' || channelId.startsWith('D');
}

function conversationRef(teamId: string, channelId: string, threadTs: string | undefined): ConversationRef {
  if (isDirectChannel(channelId)) {
    return { platform: 'slack', teamId, channelId, extra: { channelType: 'im' } };
  }
  return { platform: 'slack', teamId, channelId, ...(threadTs ? { threadId: threadTs } : {}) };
}

/** A slash command as a message; `/spawn status` and `/spawn <prompt>` keep their words. */
export function normalizeCommand(command: SlashCommand): IncomingMessage {
  const text = command.text.trim();
  return {
    platform: 'slack',
    teamId: command.team_id,
    user: { id: command.user_id, name: command.user_name || command.user_id },
    // The status message of a command goes into the channel and starts its own thread.
    conversation: conversationRef(command.team_id, command.channel_id, undefined),
    text: `${command.command}${text ? ` ${plainText(text)}` : ''}`,
    idempotencyKey: command.trigger_id,
    correlationId: command.trigger_id,
  };
}

/** What to do with one Events API event. */
export type EventDecision =
  | { readonly kind: 'ignore'; readonly reason: string }
  | {
      readonly kind: 'message';
      readonly message: IncomingMessage;
      /** A thread reply counts only in a thread that belongs to an active session. */
      readonly needsActiveSession: boolean;
    }
  | { readonly kind: 'uninstalled'; readonly teamId: string };

/** Message subtypes that are a person writing; the others are edits, joins, bots, ... */
const PERSON_SUBTYPES = new Set(['thread_broadcast', 'file_share']);

/** The bot's user id in this workspace: from Bolt's context, or from the envelope's authorizations. */
export function botUserIdOf(envelope: EventEnvelope, fromContext?: string): string | undefined {
  return fromContext ?? envelope.authorizations?.find((a) => a.is_bot && a.user_id)?.user_id;
}

/**
 * Decides about one event: an `app_mention` in a channel (the status goes in a thread under
 * it), a reply in a thread (iterates on that thread's app), a DM; bots (ourselves included),
 * edits and everything else are ignored.
 */
export function normalizeEvent(envelope: EventEnvelope, botUserId?: string): EventDecision {
  const { event } = envelope;
  const teamId = envelope.team_id;
  if (event.type === 'app_uninstalled' || event.type === 'tokens_revoked') {
    return event.type === 'app_uninstalled'
      ? { kind: 'uninstalled', teamId }
      : { kind: 'ignore', reason: 'tokens revoked' };
  }
  if (event.type !== 'app_mention' && event.type !== 'message') return { kind: 'ignore', reason: event.type };
  if (event.bot_id || event.subtype === 'bot_message') return { kind: 'ignore', reason: 'a bot message' };
  if (event.subtype && !PERSON_SUBTYPES.has(event.subtype)) return { kind: 'ignore', reason: event.subtype };
  const { user, channel, ts } = event;
  if (!user || !channel || !ts || typeof event.text !== 'string') {
    return { kind: 'ignore', reason: 'no author, channel or text' };
  }
  if (botUserId && user === botUserId) return { kind: 'ignore', reason: 'our own message' };
  const direct = isDirectChannel(channel, event.channel_type);
  let text = plainText(event.text, botUserId);
  let needsActiveSession = false;
  let threadTs: string | undefined;

  if (event.type === 'app_mention') {
    // A DM also arrives as a `message` event, which is the one handled.
    if (direct) return { kind: 'ignore', reason: 'mention in a DM' };
    if (!botUserId) text = plainText(event.text.replace(/^\s*<@[UW][A-Z0-9]+>/, ''));
    threadTs = event.thread_ts ?? ts;
  } else if (!direct) {
    // Channel chatter is not for us; replies in a thread may be.
    if (!event.thread_ts || event.thread_ts === ts) return { kind: 'ignore', reason: 'not in a thread' };
    // A mention also arrives as `app_mention`, which is the one handled.
    if (botUserId && event.text.includes(`<@${botUserId}>`)) return { kind: 'ignore', reason: 'a mention' };
    threadTs = event.thread_ts;
    needsActiveSession = true;
  }
  const attachments = slackFiles(event.files, teamId);
  if (text === '' && attachments.length === 0) return { kind: 'ignore', reason: 'empty text' };
  return {
    kind: 'message',
    needsActiveSession,
    message: {
      platform: 'slack',
      teamId,
      user: { id: user, name: user },
      conversation: conversationRef(teamId, channel, threadTs),
      text: threadWordToCommand(text),
      idempotencyKey: envelope.event_id,
      correlationId: envelope.event_id,
      ...(attachments.length > 0 ? { attachments } : {}),
    },
  };
}

/**
 * The files shared with a message (`files` of a `file_share` message or a mention), as
 * references: id, name, `mimetype`, `size` and `url_private_download` (or `url_private`), all of
 * which a file object carries (https://api.slack.com/types/file). Nothing is downloaded here:
 * the build does it with the workspace's bot token.
 */
export function slackFiles(files: unknown, teamId: string): AttachmentRef[] {
  if (!Array.isArray(files)) return [];
  const out: AttachmentRef[] = [];
  for (const f of files) {
    if (!isRecord(f) || typeof f.id !== 'string') continue;
    const url =
      typeof f.url_private_download === 'string'
        ? f.url_private_download
        : typeof f.url_private === 'string'
          ? f.url_private
          : undefined;
    out.push({
      platform: 'slack',
      id: f.id,
      name: typeof f.name === 'string' && f.name !== '' ? f.name : f.id,
      mediaType: typeof f.mimetype === 'string' ? f.mimetype : '',
      size: typeof f.size === 'number' ? f.size : 0,
      ...(url ? { url } : {}),
      teamId,
    });
  }
  return out;
}

/** Action ids of our buttons: `spawnai:stop`, `spawnai:extend`, ...; links are `spawnai:link:<n>`. */
export const ACTION_PREFIX = 'spawnai:';
const ACTIONS = ACTION_IDS;
const SESSION_ID = /^[a-z][a-z0-9]{5,15}$/;

export function actionIdFor(action: ActionId): string {
  return `${ACTION_PREFIX}${action}`;
}

/** What a button press asks for. */
export type ActionDecision =
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'action'; readonly action: IncomingAction; readonly responseUrl?: string };

/** A press of one of our action buttons; link buttons and foreign actions are only acknowledged. */
export function normalizeAction(payload: BlockActions): ActionDecision {
  const [first] = payload.actions;
  if (!first) return { kind: 'ignore', reason: 'no action' };
  if (!first.action_id.startsWith(ACTION_PREFIX)) return { kind: 'ignore', reason: 'not our action' };
  const action = first.action_id.slice(ACTION_PREFIX.length) as ActionId;
  if (!ACTIONS.includes(action)) return { kind: 'ignore', reason: 'a link or unknown action' };
  const target = parseActionTarget(first.value ?? '');
  if (!target || (action === 'undo') !== (target.version !== undefined)) {
    return { kind: 'ignore', reason: 'no valid version' };
  }
  const { sessionId } = target;
  const needsSession = actionNeedsSession(action);
  if (needsSession ? !SESSION_ID.test(sessionId) : sessionId !== '' && !SESSION_ID.test(sessionId)) {
    return { kind: 'ignore', reason: 'no valid session id' };
  }
  const teamId = payload.team?.id ?? payload.user.team_id ?? '';
  const channelId = payload.channel?.id ?? payload.container?.channel_id ?? '';
  const threadTs =
    payload.message?.thread_ts ??
    payload.container?.thread_ts ??
    payload.message?.ts ??
    (payload.container?.is_ephemeral ? undefined : payload.container?.message_ts);
  return {
    kind: 'action',
    ...(payload.response_url ? { responseUrl: payload.response_url } : {}),
    action: {
      platform: 'slack',
      teamId,
      user: { id: payload.user.id, name: payload.user.username ?? payload.user.name ?? payload.user.id },
      conversation: conversationRef(teamId, channelId, threadTs),
      action,
      sessionId,
      ...(target.version !== undefined ? { version: target.version } : {}),
      idempotencyKey: payload.trigger_id,
    },
  };
}
