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
