import type { ReplyView } from '../src/core/view.js';

/**
 * The one sentence every platform says when its delivery was queued behind many others
 * (INBOUND_BUSY_DEPTH): the request is taken, nothing is lost, it only takes longer.
 */
export const BUSY_NOTE =
  'Many requests are waiting right now: yours is queued and will be handled in turn, which may take a few minutes.';

/**
 * The busy note as a card, for platforms that show one in the acknowledgement itself (the web
 * chat's answer, Discord's interaction response). Only the person who asked sees it.
 */
export function busyView(): ReplyView {
  return {
    tone: 'info',
    title: 'Queued',
    text: `${BUSY_NOTE} The answer will appear here.`,
    ephemeral: true,
  };
}

/**
 * What a person is told when this process held too many requests to take theirs, on platforms
 * that never deliver a refused request again (a Slack slash command, a Discord interaction):
 * nothing was queued, so they have to send it again.
 */
export const TOO_BUSY_NOTE =
  'SpawnAI is too busy to take this right now, so nothing was started. Please send it again in a minute.';

/** The "too busy" note as a card only its person sees. */
export function tooBusyView(): ReplyView {
  return { tone: 'error', title: 'Too busy', text: TOO_BUSY_NOTE, ephemeral: true };
}
