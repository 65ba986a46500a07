import type { Messenger } from '../../src/core/messenger.js';
import type { ConversationRef, MessageRef } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import { SpawnError } from '../../src/errors.js';
import { fetchWithRetry } from '../../src/lib/http.js';
import { retryAfterMs } from '../../src/lib/retry-after.js';
import type { Logger } from '../../src/log.js';
import type { SlackTokens } from './installations.js';
import { isFinalView, type SlackUpdateBudget } from './pacing.js';
import { isDirectChannel } from './parse.js';
import { renderView } from './render.js';
import { callSlack, type WebClients } from './web-api.js';

/**
 * Least time between two edits of one status message. The workspace's shared `chat.update`
 * budget (Tier 3, see pacing.ts) decides how often all its cards together are edited.
 */
export const SLACK_EDIT_INTERVAL_MS = 1_000;
/** Longest one POST to a `response_url` may take. */
export const SLACK_RESPONSE_URL_TIMEOUT_MS = 5_000;
/** Attempts of one `response_url` POST (network errors, 5xx, 429). */
export const SLACK_RESPONSE_URL_ATTEMPTS = 3;
/** Longest `Retry-After` a `response_url` POST waits for in process; longer ones fail. */
export const SLACK_RESPONSE_URL_MAX_WAIT_MS = 5_000;

/** The Slack messenger, with the extra ways of answering a person that only Slack has. */
export interface SlackMessenger extends Messenger {
  /** Visible to one person only (in a channel or thread). */
  postEphemeral(conversation: ConversationRef, userId: string, view: ReplyView): Promise<void>;
  /** Answers a slash command or button press through its `response_url` (ephemeral). */
  respond(responseUrl: string, view: ReplyView, threadTs?: string): Promise<void>;
}

function threadless(conversation: ConversationRef): boolean {
  return conversation.extra?.channelType === 'im' || isDirectChannel(conversation.channelId);
}

/**
 * Posts and edits through the Web API with the workspace's own token (installation or
 * SLACK_BOT_TOKEN). A post in a channel without a thread starts one: the returned ref's
 * conversation is that thread, so replies there reach the same session.
 */
export function createSlackMessenger(deps: {
  tokens: SlackTokens;
  clients: WebClients;
  /** The per-workspace `chat.update` budget; without it (unit tests) edits are paced per card only. */
  updateBudget?: SlackUpdateBudget;
  logger: Logger;
}): SlackMessenger {
  const { tokens, clients } = deps;

  async function client(teamId: string) {
    const auth = await tokens.forTeam(teamId);
    return clients.get(auth.token);
  }

  return {
    platform: 'slack',
    editIntervalMs: () => SLACK_EDIT_INTERVAL_MS,

    async post(conversation: ConversationRef, view: ReplyView): Promise<MessageRef> {
      const web = await client(conversation.teamId);
      const { text, blocks } = renderView(view);
      const threadTs = threadless(conversation) ? undefined : conversation.threadId;
      const result = await callSlack('chat.postMessage', () =>
        web.chat.postMessage({
          channel: conversation.channelId,
          text,
          blocks,
          unfurl_links: false,
          unfurl_media: false,
          ...(threadTs ? { thread_ts: threadTs } : {}),
        }),
      );
      const ts = result.ts;
      if (!ts) throw new SpawnError('ERR_PLATFORM_INVALID', 'Slack did not return the message timestamp.');
      const threadId = threadless(conversation) ? undefined : (conversation.threadId ?? ts);
      return {
        conversation: { ...conversation, ...(threadId ? { threadId } : {}) },
        messageId: ts,
        extra: { channel: result.channel ?? conversation.channelId },
      };
    },

    async update(message: MessageRef, view: ReplyView): Promise<void> {
      const teamId = message.conversation.teamId;
      const web = await client(teamId);
      const { text, blocks } = renderView(view);
      const edit = () =>
        callSlack('chat.update', () =>
          web.chat.update({
            channel: message.extra?.channel ?? message.conversation.channelId,
            ts: message.messageId,
            text,
            blocks,
          }),
        );
      await (deps.updateBudget ? deps.updateBudget.spend(teamId, isFinalView(view), edit) : edit());
    },

    async postEphemeral(conversation: ConversationRef, userId: string, view: ReplyView): Promise<void> {
      const web = await client(conversation.teamId);
      const { text, blocks } = renderView(view);
      const threadTs = threadless(conversation) ? undefined : conversation.threadId;
      await callSlack('chat.postEphemeral', () =>
        web.chat.postEphemeral({
          channel: conversation.channelId,
          user: userId,
          text,
          blocks,
          ...(threadTs ? { thread_ts: threadTs } : {}),
        }),
      );
    },

    async respond(responseUrl: string, view: ReplyView, threadTs?: string): Promise<void> {
      const { text, blocks } = renderView(view);
      const body = JSON.stringify({
        response_type: 'ephemeral',
        replace_original: false,
        text,
        blocks,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      });
      await postResponseUrl(responseUrl, body);
    },
  };
}

/**
 * POSTs to a `response_url` (Slack allows five within 30 minutes) with a timeout and a few
 * retries on network errors, 5xx and 429 (honouring a short `Retry-After`).
 */
async function postResponseUrl(url: string, body: string): Promise<void> {
  let res: Response;
  try {
    res = await fetchWithRetry(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body, redirect: 'error' },
      {
        timeoutMs: SLACK_RESPONSE_URL_TIMEOUT_MS,
        maxAttempts: SLACK_RESPONSE_URL_ATTEMPTS,
        maxRetryWaitMs: SLACK_RESPONSE_URL_MAX_WAIT_MS,
        // A response_url message posted twice is the lesser harm than an answer never shown.
        idempotent: true,
      },
    );
    await res.arrayBuffer();
  } catch (e) {
    throw new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'Slack could not be reached for the response URL.', {
      cause: e,
    });
  }
  if (res.ok) return;
  if (res.status === 404 || res.status === 410) {
    throw new SpawnError('ERR_PLATFORM_NOT_FOUND', 'The response URL has expired or was used up.');
  }
  if (res.status === 429) {
    throw new SpawnError('ERR_PLATFORM_RATE_LIMITED', 'Slack rate-limited the response URL.', {
      retryAfterMs: retryAfterMs(res.headers) ?? 1000,
    });
  }
  if (res.status >= 500) {
    throw new SpawnError('ERR_PLATFORM_UNAVAILABLE', `Slack answered the response URL with ${res.status}.`);
  }
  throw new SpawnError('ERR_PLATFORM_INVALID', `Slack refused the response (${res.status}).`);
}
