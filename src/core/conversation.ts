import type { IncomingAction, IncomingMessage } from './incoming.js';
import type { ReplyView } from './view.js';

export interface ConversationResult {
  /** Replies to give now; `ephemeral` ones only to the person where the platform can. */
  readonly replies: readonly ReplyView[];
  /** Set when the message started a build (or repeated one that did). */
  readonly spawn?: {
    readonly sessionId: string;
    readonly buildId: string;
    readonly iteration: number;
    readonly duplicate: boolean;
  };
}

/**
 * The platform-neutral conversation (implemented in bots/). Adapters hand it verified,
 * normalised input and render what it answers.
 */
export interface ConversationHandler {
  handleMessage(message: IncomingMessage): Promise<ConversationResult>;
  handleAction(action: IncomingAction): Promise<ConversationResult>;
}
