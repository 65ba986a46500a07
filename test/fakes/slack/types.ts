/** What the fake Slack records and how it is set up. */

export interface FakeWorkspace {
  readonly teamId: string;
  readonly name: string;
  readonly botToken: string;
  readonly botUserId: string;
  readonly botId: string;
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
}

export interface RateLimit {
  /** Requests allowed at once. */
  readonly burst: number;
  /** Requests allowed per second after that. */
  readonly perSecond: number;
}

export interface FakeSlackOptions {
  readonly signingSecret: string;
  readonly workspaces: readonly FakeWorkspace[];
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly appToken?: string;
  /** Per channel: `chat.postMessage` is about 1/s per channel with short bursts. */
  readonly postLimit?: RateLimit;
  /** Per channel: `chat.update` (Tier 3). */
  readonly updateLimit?: RateLimit;
  /** Seconds announced in `Retry-After`. */
  readonly retryAfterS?: number;
}
