import type { ConversationHandler, ConversationResult } from '../../src/core/conversation.js';
import type { IncomingMessage } from '../../src/core/incoming.js';
import { conversationKey } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import type { Repos } from '../../src/db/repos/index.js';
import { describeError, isSpawnError, toSpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { sleep } from '../../src/util/time.js';
import type { SlackInstallations } from './installations.js';
import type { SlackMessenger } from './messenger.js';
import {
  type BlockActions,
  botUserIdOf,
  type EventEnvelope,
  isDirectChannel,
  normalizeAction,
  normalizeCommand,
  normalizeEvent,
  type SlashCommand,
} from './normalize.js';
import { escapeMrkdwn } from './render.js';

export interface SlackHandlerDeps {
  readonly conversation: ConversationHandler;
  readonly repos: Repos;
  readonly messenger: SlackMessenger;
  readonly installations: SlackInstallations;
  readonly logger: Logger;
}

/** First words of `/spawn <word>` that are commands, not prompts. */
const SUBCOMMAND_WORDS = new Set(['status', 'list', 'stop', 'extend', 'help', 'upgrade', 'buy', 'billing']);
const ACK_PROMPT_CHARS = 200;
/** Replies from the webhook path wait out a short 429 in process; longer ones fail (and are logged). */
export const SLACK_REPLY_MAX_RATE_WAIT_MS = 5_000;
const SLACK_REPLY_ATTEMPTS = 3;

async function patiently<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const waitMs = isSpawnError(e) && e.kind === 'rate_limited' ? (e.retryAfterMs ?? 1000) : undefined;
      if (waitMs === undefined || waitMs > SLACK_REPLY_MAX_RATE_WAIT_MS || attempt >= SLACK_REPLY_ATTEMPTS)
        throw e;
      await sleep(waitMs);
    }
  }
}

/** The ephemeral note a slash command is acknowledged with (within Slack's 3 s). */
export interface CommandAck {
  readonly response_type: 'ephemeral';
  readonly text: string;
}

function failureView(e: unknown): ReplyView {
  const err = toSpawnError(e);
  return {
    tone: 'error',
    title: 'Something went wrong',
    text:
      err.kind === 'unavailable'
        ? 'I could not take that request right now. Please try again in a minute.'
        : err.userMessage,
    ephemeral: true,
  };
}

function notYours(): ReplyView {
  return {
    tone: 'info',
    title: 'Not your app',
    text: 'Only the person who asked for the app in this thread can change it. Send /spawn <what to build> to start your own.',
    ephemeral: true,
  };
}

/**
 * What happens after Slack got its acknowledgement: dedupe on the platform's id, hand the
 * normalised input to the conversation (which enqueues), and deliver its replies. Failures are
 * logged and told to the person, ephemerally. Shared by the HTTP receiver and Socket Mode.
 */
export function createSlackHandlers(deps: SlackHandlerDeps) {
  const { conversation, repos, messenger, logger } = deps;

  /** `true` the first time a delivery is seen; retries and duplicates get `false`. */
  async function firstDelivery(id: string, what: string): Promise<boolean> {
    const first = await repos.inboundEvents.record('slack', id);
    if (!first) logger.info({ id, what }, 'slack delivery seen before; ignored');
    return first;
  }

  /** Replies in the conversation: ephemeral ones only to the person (a DM is private anyway). */
  async function deliver(message: IncomingMessage, replies: readonly ReplyView[]): Promise<void> {
    const direct = isDirectChannel(message.conversation.channelId);
    for (const view of replies) {
      if (view.ephemeral && !direct) {
        await patiently(() => messenger.postEphemeral(message.conversation, message.user.id, view));
      } else {
        await patiently(() => messenger.post(message.conversation, view));
      }
    }
  }

  return {
    /** The immediate answer to a slash command: a "queued" note for a build, nothing otherwise. */
    commandAck(command: SlashCommand): CommandAck | undefined {
      const text = command.text.trim();
      const first = text.split(/\s+/)[0]?.toLowerCase() ?? '';
      if (text === '' || SUBCOMMAND_WORDS.has(first)) return undefined;
      const prompt = text.length > ACK_PROMPT_CHARS ? `${text.slice(0, ACK_PROMPT_CHARS - 1)}…` : text;
      return {
        response_type: 'ephemeral',
        text: `:hourglass_flowing_sand: Queued: ${escapeMrkdwn(prompt)}\nThe status will appear here and be updated as it builds.`,
      };
    },

    /** After the ack: the command's replies go back through its `response_url`, ephemerally. */
    async command(command: SlashCommand, ackedWithNote: boolean): Promise<void> {
      const message = normalizeCommand(command);
      try {
        if (!(await firstDelivery(command.trigger_id, 'command'))) return;
        const result: ConversationResult = await conversation.handleMessage(message);
        for (const view of result.replies) {
          // The ack already said "queued"; a second note would only repeat it.
          const queuedNote =
            ackedWithNote &&
            result.spawn &&
            !result.spawn.duplicate &&
            view.sessionId === result.spawn.sessionId;
          if (!queuedNote) await messenger.respond(command.response_url, view);
        }
      } catch (e) {
        logger.error({ err: describeError(e), trigger: command.trigger_id }, 'slack command failed');
        await messenger.respond(command.response_url, failureView(e)).catch((err: unknown) => {
          logger.warn({ err: describeError(err) }, 'slack command failure could not be told');
        });
      }
    },

    /** An Events API event (already acknowledged by Bolt). */
    async event(envelope: EventEnvelope, contextBotUserId?: string): Promise<void> {
      const decision = normalizeEvent(envelope, botUserIdOf(envelope, contextBotUserId));
      if (decision.kind === 'ignore') {
        logger.debug({ eventId: envelope.event_id, reason: decision.reason }, 'slack event ignored');
        return;
      }
      if (decision.kind === 'uninstalled') {
        const removed = await deps.installations.remove(decision.teamId);
        logger.info({ teamId: decision.teamId, removed }, 'slack app uninstalled from a workspace');
        return;
      }
      const { message } = decision;
      try {
        const active = message.conversation.threadId
          ? await repos.sessions.findActiveInConversation(conversationKey(message.conversation))
          : undefined;
        // Threads that are not one of our apps' are other people's conversations.
        if (decision.needsActiveSession && !active) {
          logger.debug({ eventId: envelope.event_id }, 'slack thread reply outside our threads; ignored');
          return;
        }
        if (!(await firstDelivery(envelope.event_id, envelope.event.type))) return;
        if (active && !message.text.startsWith('/')) {
          // A change to the thread's app is its owner's to ask for; others are pointed to /spawn.
          const author = await repos.users.findIdentity('slack', message.teamId, message.user.id);
          if (author?.userId !== active.userId) {
            await deliver(message, [notYours()]);
            return;
          }
        }
        const result = await conversation.handleMessage(message);
        await deliver(message, result.replies);
      } catch (e) {
        logger.error({ err: describeError(e), eventId: envelope.event_id }, 'slack event failed');
        await deliver(message, [failureView(e)]).catch((err: unknown) => {
          logger.warn({ err: describeError(err) }, 'slack event failure could not be told');
        });
      }
    },

    /** A button press (already acknowledged). Link buttons and foreign actions end here. */
    async action(payload: BlockActions): Promise<void> {
      const decision = normalizeAction(payload);
      if (decision.kind === 'ignore') return;
      const { action, responseUrl } = decision;
      const threadTs = action.conversation.threadId;
      const tell = async (view: ReplyView) => {
        if (view.ephemeral && responseUrl) await messenger.respond(responseUrl, view, threadTs);
        else if (view.ephemeral) {
          await patiently(() => messenger.postEphemeral(action.conversation, action.user.id, view));
        } else await patiently(() => messenger.post(action.conversation, view));
      };
      try {
        if (!(await firstDelivery(payload.trigger_id, `action ${action.action}`))) return;
        const result = await conversation.handleAction(action);
        for (const view of result.replies) await tell(view);
      } catch (e) {
        logger.error({ err: describeError(e), action: action.action }, 'slack action failed');
        await tell(failureView(e)).catch((err: unknown) => {
          logger.warn({ err: describeError(err) }, 'slack action failure could not be told');
        });
      }
    },
  };
}

export type SlackHandlers = ReturnType<typeof createSlackHandlers>;
