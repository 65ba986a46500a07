import type { ReplyView } from '../../src/core/view.js';
import type { WebMessageRow } from '../../src/db/repos/web-messages.js';

/**
 * The web chat draws its cards in the browser (public/app.js renders a ReplyView as it is,
 * with no length limits to fit), so the server side of rendering is the one shape the page
 * reads, whether a message comes from history, from a request or over the event stream.
 */
export interface WebMessage {
  readonly id: string;
  readonly role: 'user' | 'bot';
  readonly view: ReplyView | { readonly text: string };
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A stored message as the page reads it. */
export function webMessageOf(
  row: Pick<WebMessageRow, 'id' | 'role' | 'view' | 'createdAt' | 'updatedAt'>,
): WebMessage {
  return {
    id: row.id,
    role: row.role as WebMessage['role'],
    view: row.view as WebMessage['view'],
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
