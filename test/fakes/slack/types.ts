/** What the fake Slack records and how it is set up. */

export interface FakeWorkspace {
  readonly teamId: string;
  readonly name: string;
  readonly botToken: string;
  readonly botUserId: string;
  readonly botId: string;
  /** The bot token's scopes (default: {@link DEFAULT_BOT_SCOPES}). */
  readonly scopes?: readonly string[];
}

/** What an install of the app's manifest grants the bot token. */
export const DEFAULT_BOT_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'channels:read',
  'chat:write',
  'chat:write.public',
  'commands',
  'groups:history',
  'groups:read',
  'im:history',
  'im:read',
  'mpim:read',
] as const;

/**
 * A conversation: a public or private channel, a DM (`im`, two members) or a group DM
 * (`mpim`). Channels the fake was not told about are public channels without the bot, and
 * `D…` ids are the bot's own DM with someone.
 */
export interface FakeChannel {
  readonly teamId: string;
  readonly id: string;
  readonly kind: 'public' | 'private' | 'im' | 'mpim';
  readonly name?: string;
  /** User ids in it (the bot's user id when the app is a member). */
  readonly members: string[];
}

export interface FakeEdit {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
  /** When Slack accepted it (epoch ms). */
  readonly at: number;
}

/** A message the bot posted; `edits[0]` is the original, the last one is what people see. */
export interface FakeMessage {
  readonly teamId: string;
  readonly channel: string;
  readonly ts: string;
  readonly threadTs: string | undefined;
  readonly token: string;
  readonly edits: FakeEdit[];
  /** What people see now. */
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

export interface FakeEphemeral {
  readonly teamId: string;
  readonly channel: string;
  readonly user: string;
  readonly threadTs: string | undefined;
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

/** A POST to a `response_url`, with the command or button press it answers. */
export interface FakeResponse {
  readonly id: string;
  readonly context: ResponseContext;
  readonly body: Record<string, unknown>;
}

export interface ResponseContext {
  readonly teamId: string;
  readonly channel: string;
  readonly user: string;
}

export interface FakeCall {
  readonly method: string;
  readonly token: string | undefined;
  readonly teamId: string | undefined;
  readonly status: number;
  readonly error: string | undefined;
  readonly at: number;
  /** The channel a chat.* call named. */
  readonly channel?: string | undefined;
  /** The Retry-After a 429 announced, in seconds. */
  readonly retryAfterS?: number;
}

export interface RateLimit {
  /** Requests allowed at once. */
  readonly burst: number;
  /** Requests allowed per second after that. */
  readonly perSecond: number;
}

export interface WindowLimit {
  /** Requests allowed in any window. */
  readonly max: number;
  readonly windowMs: number;
}

export interface FakeSlackOptions {
  readonly signingSecret: string;
  readonly workspaces: readonly FakeWorkspace[];
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly appToken?: string;
  /** Per channel: `chat.postMessage` is about 1/s per channel with short bursts. */
  readonly postLimit?: RateLimit;
  /**
   * Per workspace: `chat.update` is Tier 3, "50+ per minute", counted per method per workspace
   * (https://docs.slack.dev/apis/web-api/rate-limits). Default 50 per 60 s.
   */
  readonly updateLimit?: WindowLimit;
  /** Seconds announced in `Retry-After`. */
  readonly retryAfterS?: number;
}
