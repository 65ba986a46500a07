import { type ConversationRef, conversationKey } from '../src/core/platform.js';
import type { ReplyView } from '../src/core/view.js';
import type { Repos } from '../src/db/repos/index.js';

/** What the owner rule reads: a conversation's live app, and who the speaker is. */
export interface OwnerLookup {
  readonly sessions: Pick<Repos['sessions'], 'findActiveInConversation'>;
  readonly users: Pick<Repos['users'], 'findIdentity'>;
}

/** Whose the live app of a conversation is, seen from one speaker: none there, theirs, or someone else's. */
export type Ownership = 'none' | 'author' | 'other';

/**
 * The owner rule, one for every platform: in a thread that holds a live app only the person
 * who asked for it may change it. The speaker is named as the platform knows them; `teamId` is
 * the workspace identities belong to (Slack's), empty where identities are platform-wide.
 */
export async function ownership(
  lookup: OwnerLookup,
  conversation: ConversationRef,
  speaker: { readonly teamId: string; readonly userId: string },
): Promise<Ownership> {
  const active = await lookup.sessions.findActiveInConversation(conversationKey(conversation));
  if (!active) return 'none';
  const who = await lookup.users.findIdentity(conversation.platform, speaker.teamId, speaker.userId);
  return who?.userId === active.userId ? 'author' : 'other';
}

/** What someone else hears when they ask to change an app that is not theirs. */
export const NOT_YOUR_APP: ReplyView = {
  tone: 'info',
  title: 'Not your app',
  text: 'Only the person who asked for this app can change it. Send /spawn <what to build> to start your own.',
  ephemeral: true,
};
