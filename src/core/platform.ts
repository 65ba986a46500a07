/** Where a conversation happens. */
export const PLATFORMS = ['web', 'slack', 'discord', 'telegram'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Where to answer: a channel/chat and, where the platform has them, a thread. */
export interface ConversationRef {
  readonly platform: Platform;
  /** Slack workspace, Discord guild; empty for platforms without one. */
  readonly teamId: string;
  /** Slack channel, Discord channel or thread, Telegram chat, web conversation. */
  readonly channelId: string;
  /** Slack thread ts, Telegram message id the session hangs off; absent where the channel is the thread. */
  readonly threadId?: string | undefined;
  /** Platform-specific facts the messenger needs (e.g. a Discord interaction token, chat type). */
  readonly extra?: Readonly<Record<string, string>> | undefined;
}

/** A message we posted and may edit. */
export interface MessageRef {
  readonly conversation: ConversationRef;
  readonly messageId: string;
  readonly extra?: Readonly<Record<string, string>> | undefined;
}

/** A stable string for a conversation; follow-ups in the same one iterate on the same app. */
export function conversationKey(c: ConversationRef): string {
  return [c.platform, c.teamId, c.channelId, c.threadId ?? ''].join('|');
}

/** The person speaking, as the platform knows them. */
export interface PlatformUser {
  readonly id: string;
  readonly name: string;
}
