import type { ReplyView } from '../../src/core/view.js';
import { describeError, isSpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { SlackTokens } from './installations.js';
import { callSlack, type WebClients } from './web-api.js';

/**
 * Whether the app can post its status card in a conversation. chat:write reaches only the
 * conversations the app is a member of; chat:write.public adds public channels, nothing else
 * (https://docs.slack.dev/reference/scopes/chat.write.public). A private channel, a DM
 * between people or a group DM without the app answers chat.postMessage with
 * `channel_not_found` (https://docs.slack.dev/reference/methods/chat.postMessage#errors).
 *
 * `unknown`: Slack could not tell (a missing read scope on an older install, Slack
 * unreachable); the build goes ahead as before rather than refusing on a guess.
 */
export type SlackReach = 'postable' | 'invite' | 'people-dm' | 'unknown';

/** How long a conversation the app can post in is remembered. Refusals are never cached: after `/invite` the next try must work. */
export const SLACK_REACH_CACHE_MS = 60_000;
const CACHE_MAX = 5_000;

interface ConversationInfo {
  readonly is_im?: boolean;
  readonly is_mpim?: boolean;
  readonly is_private?: boolean;
  readonly is_member?: boolean;
}

/**
 * Asks `conversations.info` where the app stands in a conversation
 * (https://docs.slack.dev/reference/methods/conversations.info: `is_member`, `is_private`,
 * `is_im`, `is_mpim`; each kind needs channels:read, groups:read, im:read or mpim:read).
 */
export function createSlackReach(deps: { tokens: SlackTokens; clients: WebClients; logger: Logger }) {
  const postable = new Map<string, number>();

  function remember(key: string): void {
    if (postable.size >= CACHE_MAX) postable.delete(postable.keys().next().value!);
    postable.set(key, Date.now() + SLACK_REACH_CACHE_MS);
  }

  return {
    /** A still-fresh "the app can post there", without asking Slack (for the 3 s ack). */
    known(teamId: string, channelId: string): boolean {
      const until = postable.get(`${teamId}:${channelId}`);
      return until !== undefined && until > Date.now();
    },

    /** Forgets a conversation (a post there was refused after all). */
    forget(teamId: string, channelId: string): void {
      postable.delete(`${teamId}:${channelId}`);
    },

    async of(teamId: string, channelId: string): Promise<SlackReach> {
      const key = `${teamId}:${channelId}`;
      if (this.known(teamId, channelId)) return 'postable';
      let info: ConversationInfo | undefined;
      let scopes: readonly string[] | undefined;
      try {
        const auth = await deps.tokens.forTeam(teamId);
        const result = await callSlack('conversations.info', () =>
          deps.clients.get(auth.token).conversations.info({ channel: channelId }),
        );
        info = result.channel as ConversationInfo | undefined;
        scopes = result.response_metadata?.scopes;
      } catch (e) {
        if (isSpawnError(e) && e.kind === 'not_found') {
          // Invisible to the app: a DM between people, or a private channel / group DM it is not in.
          return channelId.startsWith('D') ? 'people-dm' : 'invite';
        }
        deps.logger.warn(
          { err: describeError(e), channelId },
          'slack: could not tell whether the app can post in this conversation (reinstall the app to grant channels:read, groups:read, im:read and mpim:read)',
        );
        return 'unknown';
      }
      if (!info) return 'unknown';
      const can =
        info.is_im === true ||
        info.is_member === true ||
        // A public channel the app is not in: chat:write.public, when the token has it.
        (!info.is_private && !info.is_mpim && (scopes === undefined || scopes.includes('chat:write.public')));
      if (!can) return 'invite';
      remember(key);
      return 'postable';
    },
  };
}

export type SlackReachCheck = ReturnType<typeof createSlackReach>;

/** What a person is told when the app cannot post where they asked; nothing was built or spent. */
export function unreachableView(reach: 'invite' | 'people-dm'): ReplyView {
  return {
    tone: 'info',
    title: 'I cannot post in this conversation',
    text:
      reach === 'invite'
        ? "I am not a member of this conversation, so I could not show the build's progress or its link there, and I did not start it (nothing was spent). Add me with `/invite @SpawnAI`, then send the command again, or send me the request in a direct message."
        : 'I cannot post in a direct message between people, so I did not start the build (nothing was spent). Send me the request in a direct message to SpawnAI (Apps → SpawnAI), or use /spawn in a channel I am in.',
    ephemeral: true,
  };
}
