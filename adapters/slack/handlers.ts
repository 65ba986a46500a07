import { failureView } from '../../bots/failure.js';
import { NOT_YOUR_APP, type OwnerLookup, ownership } from '../../bots/owner.js';
import type { ConversationHandler, ConversationResult } from '../../src/core/conversation.js';
import type { InboundContext } from '../../src/core/inbound-handler.js';
import type { IncomingMessage } from '../../src/core/incoming.js';
import type { ReplyView } from '../../src/core/view.js';
import { describeError, isSpawnError } from '../../src/errors.js';
import { rateLimitDelay, retry } from '../../src/lib/retry.js';
import type { Logger } from '../../src/log.js';
import { type SlackDelivery, startsBuild } from './ingest.js';
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
} from './parse.js';
import { type SlackReachCheck, unreachableView } from './reach.js';

export interface SlackHandlerDeps {
  readonly conversation: ConversationHandler;
  readonly repos: OwnerLookup;
  readonly messenger: SlackMessenger;
  readonly installations: SlackInstallations;
  /** Where the app can post (a slash command works in conversations the app cannot post in). */
  readonly reach: SlackReachCheck;
  readonly logger: Logger;
}

/** Replies from the webhook path wait out a short 429 in process; longer ones fail (and are logged). */
export const SLACK_REPLY_MAX_RATE_WAIT_MS = 5_000;
const SLACK_REPLY_ATTEMPTS = 3;

function patiently<T>(fn: () => Promise<T>): Promise<T> {
  return retry(fn, {
    attempts: SLACK_REPLY_ATTEMPTS,
    maxWaitMs: SLACK_REPLY_MAX_RATE_WAIT_MS,
    delay: rateLimitDelay,
  });
}

/** Whether an error may pass with a later attempt of the job (the database or Slack was away). */
function worthRetrying(e: unknown, ctx: InboundContext): boolean {
  return !ctx.finalAttempt && (!isSpawnError(e) || e.retryable);
}

/**
 * The worker side of Slack: one delivery the route (or Socket Mode) enqueued, handed to the
 * conversation, its replies delivered once. A failure that may pass is retried (the job's
 * attempts); otherwise, or on the last attempt, it is told to the person, ephemerally.
 */
export function createSlackHandlers(deps: SlackHandlerDeps) {
  const { conversation, repos, messenger, logger } = deps;

  /** Replies in the conversation: ephemeral ones only to the person (a DM is private anyway). */
  async function deliver(
    ctx: InboundContext,
    message: IncomingMessage,
    replies: readonly ReplyView[],
    tag = 'r',
  ): Promise<void> {
    const direct = isDirectChannel(message.conversation.channelId);
    for (const [i, view] of replies.entries()) {
      await ctx.once(`${tag}${i}`, async () => {
        if (view.ephemeral && !direct) {
          await patiently(() => messenger.postEphemeral(message.conversation, message.user.id, view));
        } else {
          await patiently(() => messenger.post(message.conversation, view));
        }
      });
    }
  }

  const handlers = {
    /** After the ack: the command's replies go back through its `response_url`, ephemerally. */
    async command(ctx: InboundContext, command: SlashCommand, ackedWithNote: boolean): Promise<void> {
      const message = normalizeCommand(command);
      try {
        if (startsBuild(command.text.trim())) {
          // Before anything is spent: a build whose card and link cannot be posted is not started.
          const reach = await deps.reach.of(command.team_id, command.channel_id);
          if (reach === 'invite' || reach === 'people-dm') {
            logger.info(
              { channel: command.channel_id, reach },
              'slack: the app cannot post there; build not started',
            );
            await ctx.once('unreachable', () =>
              messenger.respond(command.response_url, unreachableView(reach)),
            );
            return;
          }
        }
        const result: ConversationResult = await conversation.handleMessage(message);
        for (const [i, view] of result.replies.entries()) {
          // The ack already said "queued"; a second note would only repeat it. (A duplicate
          // here is this same delivery's earlier attempt: redeliveries are the same job.)
          const queuedNote = ackedWithNote && result.spawn && view.sessionId === result.spawn.sessionId;
          if (!queuedNote) await ctx.once(`r${i}`, () => messenger.respond(command.response_url, view));
        }
      } catch (e) {
        if (worthRetrying(e, ctx)) throw e;
        logger.error({ err: describeError(e), trigger: command.trigger_id }, 'slack command failed');
        await ctx
          .once('failed', () => messenger.respond(command.response_url, failureView(e)))
          .catch((err: unknown) => {
            logger.warn({ err: describeError(err) }, 'slack command failure could not be told');
          });
      }
    },

    /** An Events API event (already acknowledged). */
    async event(ctx: InboundContext, envelope: EventEnvelope, contextBotUserId?: string): Promise<void> {
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
        const owner = message.conversation.threadId
          ? await ownership(repos, message.conversation, { teamId: message.teamId, userId: message.user.id })
          : 'none';
        // Threads that are not one of our apps' are other people's conversations.
        if (decision.needsActiveSession && owner === 'none') {
          logger.debug({ eventId: envelope.event_id }, 'slack thread reply outside our threads; ignored');
          return;
        }
        // A change to the thread's app is its owner's to ask for; others are pointed to /spawn.
        if (owner === 'other' && !message.text.startsWith('/')) {
          await deliver(ctx, message, [NOT_YOUR_APP], 'owner');
          return;
        }
        const result = await conversation.handleMessage(message);
        await deliver(ctx, message, result.replies);
      } catch (e) {
        if (worthRetrying(e, ctx)) throw e;
        logger.error({ err: describeError(e), eventId: envelope.event_id }, 'slack event failed');
        await deliver(ctx, message, [failureView(e)], 'failed').catch((err: unknown) => {
          logger.warn({ err: describeError(err) }, 'slack event failure could not be told');
        });
      }
    },

    /** A button press (already acknowledged). Link buttons and foreign actions end here. */
    async action(ctx: InboundContext, payload: BlockActions): Promise<void> {
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
        const result = await conversation.handleAction(action);
        for (const [i, view] of result.replies.entries()) await ctx.once(`r${i}`, () => tell(view));
      } catch (e) {
        if (worthRetrying(e, ctx)) throw e;
        logger.error({ err: describeError(e), action: action.action }, 'slack action failed');
        await ctx
          .once('failed', () => tell(failureView(e)))
          .catch((err: unknown) => {
            logger.warn({ err: describeError(err) }, 'slack action failure could not be told');
          });
      }
    },
  };

  return {
    ...handlers,
    /** One `inbound` job of Slack's (HTTP route or Socket Mode). */
    async inbound(ctx: InboundContext): Promise<void> {
      const delivery = ctx.data.payload as SlackDelivery;
      switch (delivery.kind) {
        case 'command':
          return handlers.command(ctx, delivery.command, delivery.acked);
        case 'event': {
          const teamId = delivery.envelope.team_id;
          // Who we are in that workspace (cached): our own messages are not for us.
          const botUserId = await deps.installations
            .forTeam(teamId)
            .then((a) => a.botUserId)
            .catch(() => undefined);
          return handlers.event(ctx, delivery.envelope, botUserId);
        }
        case 'action':
          return handlers.action(ctx, delivery.payload);
      }
    },
  };
}

export type SlackHandlers = ReturnType<typeof createSlackHandlers>;
