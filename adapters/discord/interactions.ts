import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConversationHandler } from '../../src/core/conversation.js';
import type { ConversationRef } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import type { Repos } from '../../src/db/repos/index.js';
import { SpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { sleep } from '../../src/util/time.js';
import { isBuildRequest, type ParsedInteraction, parseInteraction } from './parse.js';
import { withRateLimitRetry } from './retry.js';
import type { TaskSet } from './tasks.js';
import {
  CALLBACK,
  type DeferredResponse,
  DISCORD_BODY_ACK_SETTLE_MS,
  DISCORD_INTERACTION_BODY_LIMIT_BYTES,
  DISCORD_INTERACTION_TOKEN_TTL_MS,
  type DiscordOutbound,
} from './types.js';
import { verifyDiscordRequest } from './verify.js';

/** The one route Discord posts interactions to (set as the app's Interactions Endpoint URL). */
export const DISCORD_INTERACTIONS_PATH = '/discord/interactions';
/** Discord's epoch (2015-01-01) in unix ms: the top bits of a snowflake count from it. */
const DISCORD_EPOCH_MS = 1_420_070_400_000;

export interface InteractionRouteDeps {
  readonly publicKey: KeyObject;
  readonly applicationId: string;
  readonly repos: Repos;
  readonly conversation: ConversationHandler;
  readonly outbound: DiscordOutbound;
  readonly tasks: TaskSet;
  readonly logger: Logger;
  readonly now?: () => number;
}

type Command = Extract<ParsedInteraction, { kind: 'command' }>;
type Component = Extract<ParsedInteraction, { kind: 'component' }>;

const FAILED: ReplyView = {
  tone: 'error',
  title: 'Something went wrong',
  text: 'I could not handle that just now. Please try again in a moment.',
  ephemeral: true,
};

/** When Discord created the interaction: its token lives 15 minutes from then. */
function createdAtMs(id: string, now: number): number {
  const fromId = Number(BigInt(id) >> 22n) + DISCORD_EPOCH_MS;
  return Math.min(fromId, now);
}

/**
 * Where a slash command's answers go. In a guild channel the status card becomes the command's
 * original response and a thread is opened from it (`threadFromReply`), so follow-ups there
 * iterate; the interaction id keeps two commands in one channel apart until then.
 */
function commandConversation(i: Command, now: number): ConversationRef {
  const token = {
    interactionToken: i.token,
    interactionExpiresAt: String(createdAtMs(i.id, now) + DISCORD_INTERACTION_TOKEN_TTL_MS),
  };
  if (i.guildId && !i.channelIsThread) {
    return {
      platform: 'discord',
      teamId: i.guildId,
      channelId: i.channelId,
      threadId: i.id,
      extra: { ...token, threadFromReply: '1' },
    };
  }
  return { platform: 'discord', teamId: i.guildId ?? '', channelId: i.channelId, extra: token };
}

function deferredFor(i: Command | Component): DeferredResponse {
  if (i.kind === 'component') return { type: CALLBACK.deferredUpdate };
  return { type: CALLBACK.deferredMessage, ephemeral: !(i.name === 'spawn' && isBuildRequest(i.prompt)) };
}

function callbackBody(response: DeferredResponse) {
  return response.type === CALLBACK.deferredMessage && response.ephemeral
    ? { type: response.type, data: { flags: 64 } }
    : { type: response.type };
}

/**
 * `POST /discord/interactions`: verify (Ed25519 over the raw bytes, before anything else) →
 * parse → dedupe by interaction id → acknowledge within Discord's 3 s (deferred) → hand to
 * the conversation in the background → answer through the interaction webhook.
 * Imports no Discord SDK: outbound calls go through {@link DiscordOutbound}.
 */
export async function registerInteractionRoute(
  app: FastifyInstance,
  deps: InteractionRouteDeps,
): Promise<void> {
  const { repos, outbound, tasks, logger } = deps;
  const now = deps.now ?? Date.now;

  /** A command's answers: the first replaces "thinking…", the rest are follow-ups. */
  async function deliverCommandReplies(
    i: Command,
    replies: readonly ReplyView[],
    ephemeralDeferred: boolean,
  ) {
    const [first, ...rest] = replies;
    if (!first) return;
    if (first.ephemeral && !ephemeralDeferred) {
      // A public "thinking…" cannot turn private: remove it and answer privately.
      await withRateLimitRetry(() => outbound.deleteOriginal(i.token));
      await withRateLimitRetry(() => outbound.followUp(i.token, first, true));
    } else {
      await withRateLimitRetry(() => outbound.editOriginal(i.token, first));
    }
    for (const view of rest) {
      await withRateLimitRetry(() =>
        outbound.followUp(i.token, view, ephemeralDeferred || view.ephemeral === true),
      );
    }
  }

  async function answerCommand(i: Command, ephemeralDeferred: boolean): Promise<void> {
    const result = await deps.conversation.handleMessage({
      platform: 'discord',
      // Discord accounts are global: one person is one user in every guild and in DMs.
      teamId: '',
      user: i.user,
      conversation: commandConversation(i, now()),
      text: `/${i.name} ${i.prompt ?? ''}`.trim(),
      idempotencyKey: i.id,
      correlationId: `discord-${i.id}`,
    });
    // A new build: the worker turns "thinking…" into the status card.
    if (result.spawn && !result.spawn.duplicate) return;
    await deliverCommandReplies(i, result.replies, ephemeralDeferred);
  }

  async function answerComponent(i: Component): Promise<void> {
    const result = await deps.conversation.handleAction({
      platform: 'discord',
      teamId: '',
      user: i.user,
      conversation: { platform: 'discord', teamId: i.guildId ?? '', channelId: i.channelId },
      action: i.action,
      sessionId: i.sessionId,
      idempotencyKey: i.id,
    });
    // Refusals (not the owner) and purchase links are for the person who pressed only.
    for (const view of result.replies) {
      await withRateLimitRetry(() => outbound.followUp(i.token, view, view.ephemeral === true));
    }
  }

  async function work(i: Command | Component, response: DeferredResponse): Promise<void> {
    const ephemeralDeferred = response.type === CALLBACK.deferredMessage && response.ephemeral;
    try {
      if (i.kind === 'command') await answerCommand(i, ephemeralDeferred);
      else await answerComponent(i);
    } catch (e) {
      logger.error(
        { interactionId: i.id, err: e instanceof Error ? e.message : String(e) },
        'discord interaction failed',
      );
      // Never leave "thinking…" behind: say it failed, to the person only.
      const tell =
        i.kind === 'command'
          ? deliverCommandReplies(i, [FAILED], ephemeralDeferred)
          : outbound.followUp(i.token, FAILED, true);
      await tell.catch(() => {});
    }
  }

  async function handle(request: FastifyRequest, reply: FastifyReply) {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    verifyDiscordRequest(deps.publicKey, request.headers, raw, now());
    if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      throw new SpawnError('ERR_UNSUPPORTED_MEDIA_TYPE', 'Discord interactions are application/json.');
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SpawnError('ERR_BAD_REQUEST', 'The body is not valid JSON.');
    }
    const interaction = parseInteraction(body, deps.applicationId);
    if (interaction.kind === 'ping')
      return reply.status(200).type('application/json').send({ type: CALLBACK.pong });

    const response = deferredFor(interaction);
    if (!(await repos.inboundEvents.record('discord', interaction.id))) {
      logger.info({ interactionId: interaction.id }, 'duplicate discord interaction ignored');
      return reply.status(202).send();
    }
    // Acknowledge through the callback endpoint before any work, so Discord has the deferred
    // response before a worker edits it; if that fails, answer in this response instead.
    let acknowledged = true;
    try {
      await outbound.acknowledge(interaction.id, interaction.token, response);
    } catch (e) {
      acknowledged = false;
      logger.warn(
        { interactionId: interaction.id, err: e instanceof Error ? e.message : String(e) },
        'interaction callback failed; answering in the response body',
      );
    }
    if (acknowledged) {
      tasks.run('interaction', () => work(interaction, response));
      return reply.status(202).send();
    }
    // Discord learns of the deferral from this response: start only once it is on its way.
    reply.raw.once('finish', () =>
      tasks.run('interaction', async () => {
        await sleep(DISCORD_BODY_ACK_SETTLE_MS);
        await work(interaction, response);
      }),
    );
    return reply.status(200).type('application/json').send(callbackBody(response));
  }

  // Its own scope: the body stays raw bytes until the signature is checked.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: DISCORD_INTERACTION_BODY_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.post(DISCORD_INTERACTIONS_PATH, { bodyLimit: DISCORD_INTERACTION_BODY_LIMIT_BYTES }, handle);
  });
}
