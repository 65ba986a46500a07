import type { AttachmentRef } from './attachments.js';
import type { ConversationRef, Platform, PlatformUser } from './platform.js';
import type { ActionId } from './view.js';

/** A message from any platform, verified, deduplicated and normalised by its adapter. */
export interface IncomingMessage {
  readonly platform: Platform;
  readonly teamId: string;
  readonly user: PlatformUser;
  readonly conversation: ConversationRef;
  /** The text as the person wrote it, bot mentions removed; slash commands as `/name args`. */
  readonly text: string;
  /** The platform's id of this message (event id, update id, interaction id, ...). */
  readonly idempotencyKey: string;
  /** Follows the request from webhook to worker in the logs (the platform event id). */
  readonly correlationId?: string;
  /** Files attached to the message (references only: nothing is downloaded on the way in). */
  readonly attachments?: readonly AttachmentRef[];
}

/** A button press. */
export interface IncomingAction {
  readonly platform: Platform;
  readonly teamId: string;
  readonly user: PlatformUser;
  readonly conversation: ConversationRef;
  readonly action: ActionId;
  readonly sessionId: string;
  /** Undo: the version to go back to. */
  readonly version?: number;
  readonly idempotencyKey: string;
}
