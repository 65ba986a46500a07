import type { AccountService } from '../src/accounts/service.js';
import { effectivePlan } from '../src/billing/plans.js';
import type { BillingService } from '../src/billing/service.js';
import type { ConversationHandler, ConversationResult } from '../src/core/conversation.js';
import type { IncomingAction, IncomingMessage } from '../src/core/incoming.js';
import type { ConversationRef } from '../src/core/platform.js';
import { hasUnstorableText, storableText } from '../src/core/text.js';
import { isSpawnError, SpawnError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import type { SessionLifecycle } from '../src/spawn/lifecycle.js';
import type { Requester, SpawnService } from '../src/spawn/service.js';
import type { VersionService } from '../src/versions/service.js';
import { createAccountConversation, parseAccountCommand } from './account.js';
import {
  type BillingConversation,
  createBillingConversation,
  isPurchasable,
  type PurchaseContext,
} from './billing.js';
import { type Command, parseCommand } from './commands.js';
import type { Views } from './views.js';

export interface ConversationDeps {
  spawn: SpawnService;
  /** Stop and Extend, by command or button. */
  lifecycle: SessionLifecycle;
  views: Views;
  logger: Logger;
  /** Plans and purchases; absent or disabled with billing off. */
  billing?: BillingService;
  /** `link` / `unlink`: one account across platforms; absent, those words are not commands. */
  accounts?: AccountService;
  /** Versions, rollback and export. */
  versions?: VersionService;
  now?: () => Date;
}

/** The platform-neutral conversation: commands and intents in, reply views out. */
export function createConversation(deps: ConversationDeps): ConversationHandler {
  const { spawn, lifecycle, views } = deps;
  const now = deps.now ?? (() => new Date());
  const billing = deps.billing?.enabled ? deps.billing : undefined;
  const shop: BillingConversation | undefined = billing ? createBillingConversation(billing) : undefined;
  const account = deps.accounts
    ? createAccountConversation(deps.accounts, { billing: billing !== undefined })
    : undefined;

  async function purchaseContext(
    requester: Requester,
    conversation: ConversationRef,
    sessionId?: string,
  ): Promise<PurchaseContext> {
    const user = await spawn.resolveUser(requester);
    const session = sessionId ? await spawn.findSession(requester, conversation, sessionId) : undefined;
    return { user, platform: requester.platform, conversation, ...(session ? { session } : {}) };
  }

  async function run(
    requester: Requester,
    conversation: ConversationRef,
    fn: () => Promise<ConversationResult>,
  ): Promise<ConversationResult> {
    try {
      return await fn();
    } catch (e) {
      if (isSpawnError(e) && e.kind !== 'unavailable') {
        const view = views.error(e);
        if (shop && isPurchasable(e)) {
          // Over a limit: say so, and offer what lifts it.
          return {
            replies: [await shop.limitReached(await purchaseContext(requester, conversation), e, view)],
          };
        }
        return { replies: [view] };
      }
      deps.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'conversation failed');
      throw e;
    }
  }

  /** A named app must exist; without a name, the conversation's (or the person's newest) app. */
  async function target(requester: Requester, conversation: ConversationRef, sessionId: string | undefined) {
    const session = await spawn.findSession(requester, conversation, sessionId);
    if (!session && sessionId) {
      throw new SpawnError('ERR_SESSION_NOT_FOUND', `I cannot find an app with id ${sessionId}.`);
    }
    return session;
  }

  /**
   * Extends an app. With billing on, the free plan's Extend is a paid extension; paid plans
   * extend for free up to their limit, then pay for more.
   */
  async function extend(
    requester: Requester,
    conversation: ConversationRef,
    sessionId: string,
  ): Promise<ConversationResult> {
    if (shop) {
      const ctx = await purchaseContext(requester, conversation, sessionId);
      const session = ctx.session;
      if (session && session.userId !== ctx.user.id) throw new SpawnError('ERR_NOT_OWNER');
      if (session && effectivePlan(ctx.user) === 'free') {
        const offer = await shop.paidExtension({ ...ctx, session });
        if (offer) return { replies: [offer] };
      }
      try {
        return { replies: [views.extended(await lifecycle.extend(sessionId, requester), now())] };
      } catch (e) {
        if (isSpawnError(e) && e.code === 'ERR_EXTEND_LIMIT' && session) {
          const offer = await shop.paidExtension({ ...ctx, session });
          if (offer) return { replies: [offer] };
        }
        throw e;
      }
    }
    return { replies: [views.extended(await lifecycle.extend(sessionId, requester), now())] };
  }

  async function purchase(
    kind: 'upgrade' | 'buy' | 'billing',
    requester: Requester,
    conversation: ConversationRef,
  ): Promise<ConversationResult> {
    if (!shop) return { replies: [views.billingOff()] };
    const ctx = await purchaseContext(requester, conversation);
    if (kind === 'upgrade') return { replies: [await shop.upgrade(ctx)] };
    if (kind === 'buy') return { replies: [await shop.buy(ctx)] };
    return { replies: [await shop.billingPage(ctx)] };
  }

  function versionService(): VersionService {
    if (!deps.versions) throw new SpawnError('ERR_CONFIG', 'versions are not wired');
    return deps.versions;
  }

  async function rollback(
    requester: Requester,
    conversation: ConversationRef,
    version: number,
    idempotencyKey: string,
    sessionId: string | undefined,
    correlationId?: string,
  ): Promise<ConversationResult> {
    const outcome = await versionService().rollback({
      ...requester,
      conversation,
      version,
      idempotencyKey,
      ...(sessionId ? { sessionId } : {}),
      ...(correlationId ? { correlationId } : {}),
    });
    return {
      replies: [views.rollingBack(outcome.session, outcome.build.rollbackOf ?? version, outcome.duplicate)],
      spawn: {
        sessionId: outcome.session.id,
        buildId: outcome.build.id,
        iteration: outcome.build.iteration,
        duplicate: outcome.duplicate,
      },
    };
  }

  async function exportApp(
    requester: Requester,
    conversation: ConversationRef,
    sessionId: string | undefined,
  ): Promise<ConversationResult> {
    const offer = await versionService().exportLink(requester, conversation, sessionId);
    if (!offer) return { replies: [views.noSession()] };
    return { replies: [views.exportReady(offer.session, offer.version, offer.url, offer.expiresAt, now())] };
  }

  async function dispatch(message: IncomingMessage, command: Command): Promise<ConversationResult> {
    const requester: Requester = { platform: message.platform, teamId: message.teamId, user: message.user };
    switch (command.kind) {
      case 'help':
        return { replies: [views.help()] };
      case 'upgrade':
      case 'buy':
      case 'billing':
        return purchase(command.kind, requester, message.conversation);
      case 'unknown':
        return { replies: [views.unknownCommand(command.name)] };
      case 'list':
        return { replies: [views.list(await spawn.list(requester), now())] };
      case 'status': {
        const session = await target(requester, message.conversation, command.sessionId);
        return { replies: [session ? views.sessionSummary(session, now()) : views.noSession()] };
      }
      case 'stop': {
        const session = await target(requester, message.conversation, command.sessionId);
        if (!session) return { replies: [views.noSession()] };
        return { replies: [views.stopping(await lifecycle.stop(session.id, requester))] };
      }
      case 'extend': {
        const session = await target(requester, message.conversation, command.sessionId);
        if (!session) return { replies: [views.noSession()] };
        return extend(requester, message.conversation, session.id);
      }
      case 'versions': {
        const found = await versionService().list(requester, message.conversation, command.sessionId);
        if (!found) return { replies: [views.noSession()] };
        return { replies: [views.versions(found.session, found.versions, now())] };
      }
      case 'rollback':
        return rollback(
          requester,
          message.conversation,
          command.version,
          message.idempotencyKey,
          command.sessionId,
          message.correlationId,
        );
      case 'export':
        return exportApp(requester, message.conversation, command.sessionId);
      case 'spawn':
      case 'message': {
        const prompt = command.kind === 'spawn' ? command.prompt : command.text;
        const outcome = await spawn.request({
          ...requester,
          conversation: message.conversation,
          prompt,
          idempotencyKey: message.idempotencyKey,
          newSession: command.kind === 'spawn',
          ...(command.kind === 'spawn' && command.provider ? { provider: command.provider } : {}),
          ...(message.correlationId ? { correlationId: message.correlationId } : {}),
          ...(message.attachments?.length ? { attachments: message.attachments } : {}),
        });
        return {
          replies: [views.queued(outcome.session, outcome.build.iteration, outcome.duplicate)],
          spawn: {
            sessionId: outcome.session.id,
            buildId: outcome.build.id,
            iteration: outcome.build.iteration,
            duplicate: outcome.duplicate,
          },
        };
      }
    }
  }

  async function act(action: IncomingAction): Promise<ConversationResult> {
    const requester: Requester = { platform: action.platform, teamId: action.teamId, user: action.user };
    switch (action.action) {
      case 'stop':
        return { replies: [views.stopping(await lifecycle.stop(action.sessionId, requester))] };
      case 'extend':
      case 'pay-extend':
        return extend(requester, action.conversation, action.sessionId);
      case 'upgrade':
        return purchase('upgrade', requester, action.conversation);
      case 'buy':
        return purchase('buy', requester, action.conversation);
      case 'undo':
        if (action.version === undefined) return { replies: [views.unknownCommand('undo')] };
        return rollback(
          requester,
          action.conversation,
          action.version,
          action.idempotencyKey,
          action.sessionId,
        );
      case 'export':
        return exportApp(requester, action.conversation, action.sessionId);
    }
  }

  /**
   * Every platform's text passes here: a NUL or half a surrogate pair would make Postgres refuse
   * the rows it goes into (prompt, history, audit), so it is refused with a clear answer before
   * anything is written; a display name is stored with such characters replaced.
   */
  function checkText(message: IncomingMessage): IncomingMessage {
    if (hasUnstorableText(message.text)) throw new SpawnError('ERR_TEXT_UNSUPPORTED');
    if (!hasUnstorableText(message.user.name)) return message;
    return { ...message, user: { ...message.user, name: storableText(message.user.name) } };
  }

  return {
    handleMessage: (message) =>
      run(
        { platform: message.platform, teamId: message.teamId, user: message.user },
        message.conversation,
        () => {
          const checked = checkText(message);
          // The web chat is the person's one-to-one chat with the bot, as a Slack DM is.
          const bareWords = checked.platform === 'web';
          const accountCommand = account && parseAccountCommand(checked.text, { bareWords });
          if (accountCommand) return account(checked, accountCommand, checked.conversation);
          return dispatch(checked, parseCommand(checked.text, { bareWords }));
        },
      ),
    handleAction: (action) =>
      run({ platform: action.platform, teamId: action.teamId, user: action.user }, action.conversation, () =>
        act(action),
      ),
  };
}
