import { randomUUID } from 'node:crypto';
import type { Messenger } from '../../src/core/messenger.js';
import type { ConversationRef, MessageRef } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import type { Repos } from '../../src/db/repos/index.js';
import type { PubSub } from '../../src/redis/pubsub.js';
import type { WebMessage } from './render.js';

/** The browser redraws a card in a frame; more than a few edits a second is only noise. */
export const WEB_EDIT_INTERVAL_MS = 150;

export type { WebMessage } from './render.js';

export function webChannel(prefix: string, conversationId: string): string {
  return `${prefix}:web:${conversationId}`;
}

/**
 * Web chat messages live in Postgres (history survives restarts) and reach open pages over
 * Redis pub/sub, so the worker that edits a card and the web process that streams it to the
 * browser can be different processes.
 */
export function createWebMessenger(
  repos: Pick<Repos, 'webMessages'>,
  pubsub: PubSub,
  prefix: string,
): Messenger & {
  store(
    conversationId: string,
    role: 'user' | 'bot',
    view: WebMessage['view'],
    id?: string,
  ): Promise<WebMessage>;
} {
  async function store(
    conversationId: string,
    role: 'user' | 'bot',
    view: WebMessage['view'],
    id: string = `m-${randomUUID()}`,
  ): Promise<WebMessage> {
    const stored = await repos.webMessages.upsert({ id, conversationId, role, view });
    const message: WebMessage = {
      id,
      role,
      view,
      createdAt: stored.createdAt.toISOString(),
      updatedAt: stored.updatedAt.toISOString(),
    };
    await pubsub.publish(webChannel(prefix, conversationId), JSON.stringify({ type: 'message', message }));
    return message;
  }

  return {
    platform: 'web',
    store,
    editIntervalMs: () => WEB_EDIT_INTERVAL_MS,
    async post(conversation: ConversationRef, view: ReplyView): Promise<MessageRef> {
      const message = await store(conversation.channelId, 'bot', view);
      return { conversation, messageId: message.id };
    },
    async update(ref: MessageRef, view: ReplyView): Promise<void> {
      await store(ref.conversation.channelId, 'bot', view, ref.messageId);
    },
  };
}
