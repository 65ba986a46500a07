import type { ConversationRef, MessageRef, Platform } from './platform.js';
import type { ReplyView } from './view.js';

/**
 * Posts and edits messages on one platform. REST only, so a worker process can use it
 * without a gateway connection. Failures are thrown as SpawnError with an `ERR_PLATFORM_*`
 * code (rate limits carry `retryAfterMs`).
 */
export interface Messenger {
  readonly platform: Platform;
  /** Least time between two edits of one message in this conversation (platform pacing). */
  editIntervalMs(conversation: ConversationRef): number;
  /**
   * Posts a new message. The returned ref's `conversation` may differ from the one given:
   * e.g. a Slack status message starts a thread, a Discord mention opens one.
   */
  post(conversation: ConversationRef, view: ReplyView): Promise<MessageRef>;
  update(message: MessageRef, view: ReplyView): Promise<void>;
}

export class MessengerRegistry {
  private readonly byPlatform = new Map<Platform, Messenger>();

  register(messenger: Messenger): void {
    this.byPlatform.set(messenger.platform, messenger);
  }

  get(platform: Platform): Messenger | undefined {
    return this.byPlatform.get(platform);
  }

  platforms(): Platform[] {
    return [...this.byPlatform.keys()];
  }
}
