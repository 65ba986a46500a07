import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { busyView, tooBusyView } from '../../bots/busy.js';
import { failureView } from '../../bots/failure.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import type { InboundContext } from '../../src/core/inbound-handler.js';
import type { ConversationRef } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import { isSpawnError, SpawnError } from '../../src/errors.js';
import { retry } from '../../src/lib/retry.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import { admissionOf, inboundGate } from '../../src/server/inbound-gate.js';
import { isBuildRequest, type ParsedInteraction, parseInteraction } from './parse.js';
import { interactionResponseBody } from './render.js';
import {
  CALLBACK,
  DISCORD_BODY_ACK_SETTLE_MS,
  DISCORD_INLINE_RETRY,
  DISCORD_INTERACTION_BODY_LIMIT_BYTES,
  DISCORD_INTERACTION_TOKEN_TTL_MS,
  type DiscordOutbound,
  ephemeralOriginal,
  type InitialResponse,
} from './types.js';
import { verifyDiscordRequest } from './verify.js';

/** The one route Discord posts interactions to (set as the app's Interactions Endpoint URL). */
export const DISCORD_INTERACTIONS_PATH = '/discord/interactions';
/** Discord's epoch (2015-01-01) in unix ms: the top bits of a snowflake count from it. */
const DISCORD_EPOCH_MS = 1_420_070_400_000;

export interface InteractionRouteDeps {
  readonly publicKey: KeyObject;
  readonly applicationId: string;
  readonly outbound: DiscordOutbound;
  readonly inbound: InboundQueue;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface InteractionHandlerDeps {
  readonly conversation: ConversationHandler;
  readonly outbound: DiscordOutbound;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** An interaction on the `inbound` queue, with the initial response Discord already has. */
export interface InteractionDelivery {
  readonly interaction: Command | Component;
  readonly response: InitialResponse;
}

type Command = Extract<ParsedInteraction, { kind: 'command' }>;
type Component = Extract<ParsedInteraction, { kind: 'component' }>;

const FAILED = failureView();

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

/**
 * The initial response, from the parsed interaction alone. A command is "thinking…" (public
 * for a build, whose status card it becomes; private otherwise), unless many requests are
 * waiting: then the acknowledgement itself is a message saying so, in the same place, which
 * the worker edits into the answer exactly as it would have edited "thinking…" (PATCH
 * .../messages/@original edits the initial response whatever its type:
 * https://discord.com/developers/docs/interactions/receiving-and-responding#edit-original-interaction-response).
 * A button press stays a silent ack: its answers are follow-ups, and a press waits like a message.
 */
function initialResponseFor(i: Command | Component, busy: boolean): InitialResponse {
  if (i.kind === 'component') return { type: CALLBACK.deferredUpdate };
  const ephemeral = !(i.name === 'spawn' && isBuildRequest(i.prompt));
  return busy
    ? { type: CALLBACK.channelMessage, ephemeral, view: busyView() }
    : { type: CALLBACK.deferredMessage, ephemeral };
}

/**
 * The worker side of an interaction: the conversation, then the answers through the
 * interaction webhook ("thinking…" becomes the first). Each answer is sent once per delivery,
 * across attempts; a failure that may pass is retried, otherwise it is told to the person.
 */
export function createInteractionHandler(deps: InteractionHandlerDeps) {
  const { outbound, logger } = deps;
  const now = deps.now ?? Date.now;

  /** A command's answers: the first replaces the original response ("thinking…" or the busy note), the rest are follow-ups. */
  async function deliverCommandReplies(
    ctx: InboundContext,
    i: Command,
    replies: readonly ReplyView[],
    privateOriginal: boolean,
    tag = 'r',
  ) {
    const [first, ...rest] = replies;
    if (!first) return;
    await ctx.once(`${tag}0`, async () => {
      if (first.ephemeral && !privateOriginal) {
        // A public original response ("thinking…", the busy note) cannot turn private: remove
        // it and answer privately.
        await retry(() => outbound.deleteOriginal(i.token), DISCORD_INLINE_RETRY);
        await retry(() => outbound.followUp(i.token, first, true), DISCORD_INLINE_RETRY);
      } else {
        await retry(() => outbound.editOriginal(i.token, first), DISCORD_INLINE_RETRY);
      }
    });
    for (const [n, view] of rest.entries()) {
      await ctx.once(`${tag}${n + 1}`, () =>
        retry(
          () => outbound.followUp(i.token, view, privateOriginal || view.ephemeral === true),
          DISCORD_INLINE_RETRY,
        ),
      );
    }
  }

  async function answerCommand(ctx: InboundContext, i: Command, privateOriginal: boolean): Promise<void> {
    const result = await deps.conversation.handleMessage({
      platform: 'discord',
      // Discord accounts are global: one person is one user in every guild and in DMs.
      teamId: '',
      user: i.user,
      conversation: commandConversation(i, now()),
      text: `/${i.name} ${i.prompt ?? ''}`.trim(),
      idempotencyKey: i.id,
      correlationId: `discord-${i.id}`,
      ...(i.attachments?.length ? { attachments: i.attachments } : {}),
    });
    // A build: the spawn worker turns "thinking…" into the status card. (A duplicate here is
    // this delivery's earlier attempt: redeliveries are the same job.)
    if (result.spawn) return;
    await deliverCommandReplies(ctx, i, result.replies, privateOriginal);
  }

  async function answerComponent(ctx: InboundContext, i: Component): Promise<void> {
    const result = await deps.conversation.handleAction({
      platform: 'discord',
      teamId: '',
      user: i.user,
      conversation: { platform: 'discord', teamId: i.guildId ?? '', channelId: i.channelId },
      action: i.action,
      sessionId: i.sessionId,
      ...(i.version !== undefined ? { version: i.version } : {}),
      idempotencyKey: i.id,
    });
    // Refusals (not the owner) and purchase links are for the person who pressed only.
    for (const [n, view] of result.replies.entries()) {
      await ctx.once(`r${n}`, () =>
        retry(() => outbound.followUp(i.token, view, view.ephemeral === true), DISCORD_INLINE_RETRY),
      );
    }
  }

  return async function work(ctx: InboundContext): Promise<void> {
    const { interaction: i, response } = ctx.data.payload as InteractionDelivery;
    const privateOriginal = ephemeralOriginal(response);
    try {
      if (i.kind === 'command') await answerCommand(ctx, i, privateOriginal);
      else await answerComponent(ctx, i);
    } catch (e) {
      if (!ctx.finalAttempt && (!isSpawnError(e) || e.retryable)) throw e;
      logger.error(
        { interactionId: i.id, err: e instanceof Error ? e.message : String(e) },
        'discord interaction failed',
      );
      // Never leave "thinking…" behind: say it failed, to the person only.
      const tell =
        i.kind === 'command'
          ? deliverCommandReplies(ctx, i, [FAILED], privateOriginal, 'failed')
          : ctx.once('failed', () => outbound.followUp(i.token, FAILED, true));
      await tell.catch(() => {});
    }
  };
}

/**
 * `POST /discord/interactions`: verify (Ed25519 over the raw bytes, before anything else) →
 * parse → acknowledge within Discord's 3 s (deferred, or the busy note when many requests are
 * waiting; from the parsed interaction alone) →
 * enqueue one `inbound` job (its id is the interaction id) → answer. The worker does the rest
 * ({@link createInteractionHandler}). No database; imports no Discord SDK.
 */
export async function registerInteractionRoute(
  app: FastifyInstance,
  deps: InteractionRouteDeps,
): Promise<void> {
  const { outbound, inbound, logger } = deps;
  const now = deps.now ?? Date.now;

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
    if (admissionOf(request) === 'told') {
      // Over this process's bound: Discord never sends an interaction again, so rather than a
      // bare 503 ("This interaction failed") its person is told, privately, to send it again.
      logger.warn(
        { interactionId: interaction.id },
        'discord interaction over the in-flight bound; told to send it again',
      );
      const tooBusy: InitialResponse = {
        type: CALLBACK.channelMessage,
        ephemeral: true,
        view: tooBusyView(),
      };
      return reply.status(200).type('application/json').send(interactionResponseBody(tooBusy));
    }

    // Read from the depth the process last looked at: no Redis call for it on this path.
    const response = initialResponseFor(interaction, inbound.busy);
    const delivery: InteractionDelivery = { interaction, response };
    // An interaction is acknowledged once; a repeated delivery changes nothing.
    if (!(await inbound.claim('discord', interaction.id))) {
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
    // Discord learns of the deferral from this response when the callback failed: the worker
    // starts a moment later, once it is on its way.
    try {
      await inbound.enqueue('discord', interaction.id, 'interaction', delivery, {
        ...(acknowledged ? {} : { delayMs: DISCORD_BODY_ACK_SETTLE_MS }),
      });
    } catch (e) {
      // Discord does not deliver an interaction again: never leave "thinking…" behind.
      await inbound.unclaim('discord', interaction.id);
      if (acknowledged) await outbound.editOriginal(interaction.token, FAILED).catch(() => {});
      throw e;
    }
    if (acknowledged) return reply.status(202).send();
    return reply.status(200).type('application/json').send(interactionResponseBody(response));
  }

  // Its own scope: the body stays raw bytes until the signature is checked.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: DISCORD_INTERACTION_BODY_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      DISCORD_INTERACTIONS_PATH,
      {
        bodyLimit: DISCORD_INTERACTION_BODY_LIMIT_BYTES,
        onRequest: inboundGate(inbound, { tellWhenFull: true }),
      },
      handle,
    );
  });
}
