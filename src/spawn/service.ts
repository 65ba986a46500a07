import { type AttachmentRef, checkDeclared } from '../core/attachments.js';
import type { ConversationRef } from '../core/platform.js';
import { conversationKey } from '../core/platform.js';
import type { BuildRow, Repos, SessionRow, UserRow } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import { STAGE_PERCENT } from '../notify/progress.js';
import type { ProviderName } from '../provision/types.js';
import { jobIdFor } from '../queue/jobs.js';
import type { Queues } from '../queue/producer.js';
import { injectTrace } from '../tracing.js';
import { HOUR_MS } from '../util/time.js';
import type { SpawnGuard } from './guard.js';
import { newSessionId } from './ids.js';
import type { LimitsPolicy, PlanLimits } from './limits.js';
import { type Requester, resolveUser } from './requester.js';

export type { Requester } from './requester.js';

export interface SpawnRequest extends Requester {
  readonly conversation: ConversationRef;
  readonly prompt: string;
  /** The platform's id of the message (event id, update id, ...): the same message is one build. */
  readonly idempotencyKey: string;
  /** `/spawn` always starts a new app; a plain message iterates on the conversation's live one. */
  readonly newSession: boolean;
  /** Where the app should run (`/spawn --on render ...`); default: the configured provider. */
  readonly provider?: ProviderName;
  readonly correlationId?: string;
  /** Pictures attached to the message ("make it look like this"). */
  readonly attachments?: readonly AttachmentRef[];
}

export interface SpawnOutcome {
  readonly kind: 'created' | 'iterating';
  readonly session: SessionRow;
  readonly build: BuildRow;
  /** The same message was seen before; nothing new was started. */
  readonly duplicate: boolean;
}

export interface SpawnServiceDeps {
  repos: Repos;
  queues: Queues;
  notifier: Notifier;
  limits: LimitsPolicy;
  /** Rate limits and spend caps of paid plans (absent with billing off). */
  guard?: SpawnGuard;
  builderName: 'offline' | 'claude';
  /** Where new sessions run unless the request names another. */
  provider: ProviderName;
  /** Providers configured on this server (a request may choose among them). */
  providers: readonly ProviderName[];
  promptMaxChars: number;
  logger: Logger;
  now?: () => Date;
}

class DuplicateRequest extends Error {}

/** The request of a message that is only a picture. */
export const PICTURE_ONLY_PROMPT = 'Make an app that looks like the attached picture.';

/**
 * Intake: turns a request into a session and a queued job: user and identity upsert, quota
 * check, session and build rows, enqueue with a job id derived from the message's idempotency
 * key. What happens to a session afterwards (stop, extend, expiry) is SessionLifecycle's.
 */
export class SpawnService {
  private readonly now: () => Date;

  constructor(private readonly deps: SpawnServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  validatePrompt(prompt: string): string {
    const p = prompt.trim();
    if (p.length === 0) throw new SpawnError('ERR_PROMPT_EMPTY');
    if (p.length > this.deps.promptMaxChars) {
      throw new SpawnError(
        'ERR_PROMPT_TOO_LONG',
        `That request is ${p.length} characters long; the limit is ${this.deps.promptMaxChars}.`,
      );
    }
    return p;
  }

  /** The provider a new session runs on: the one asked for, if configured, else the default. */
  chooseProvider(asked: ProviderName | undefined): ProviderName {
    if (!asked) return this.deps.provider;
    if (!this.deps.providers.includes(asked)) {
      throw new SpawnError('ERR_PROVIDER_NOT_CONFIGURED', undefined, {
        userMessage: `${asked} is not configured on this server; apps can run on: ${this.deps.providers.join(', ')}.`,
      });
    }
    return asked;
  }

  /**
   * Refuses pictures before anything is written or paid for: too many, too large or of a type
   * Claude cannot read (as the platform declares them; the bytes are checked again when
   * fetched), or any picture at all for the offline builder, which cannot look at them.
   */
  validateAttachments(attachments: readonly AttachmentRef[] | undefined): readonly AttachmentRef[] {
    if (!attachments || attachments.length === 0) return [];
    if (this.deps.builderName === 'offline') throw new SpawnError('ERR_IMAGES_OFFLINE');
    checkDeclared(attachments);
    return attachments;
  }

  async request(req: SpawnRequest): Promise<SpawnOutcome> {
    const attachments = this.validateAttachments(req.attachments);
    // A picture alone is a request too: "make it look like this".
    const prompt = this.validatePrompt(
      attachments.length > 0 && req.prompt.trim() === '' ? PICTURE_ONLY_PROMPT : req.prompt,
    );
    const provider = this.chooseProvider(req.provider);
    const requestKey = `${req.platform}:${req.idempotencyKey}`;
    const seen = await this.existing(requestKey);
    if (seen) return seen;

    let outcome: SpawnOutcome;
    try {
      outcome = await this.deps.repos.transaction(async (tx) => {
        const { user } = await tx.users.upsertByIdentity({
          platform: req.platform,
          teamId: req.teamId,
          platformUserId: req.user.id,
          displayName: req.user.name,
        });
        // Serialises this user's requests: quota checks cannot race each other.
        const locked = (await tx.users.getForUpdate(user.id)) ?? user;
        // Another delivery of this same message may have committed while this one waited for the
        // lock: it must come back as that one, not as a change to the session it just created.
        if (await tx.builds.getByRequestKey(requestKey)) throw new DuplicateRequest();
        const limits = this.deps.limits.limitsFor(locked);
        const active = req.newSession
          ? undefined
          : await tx.sessions.findActiveInConversation(conversationKey(req.conversation));
        const iterate = active !== undefined && active.userId === locked.id;
        if (iterate) await this.checkNotBusy(tx, active);
        else await this.checkNewSession(tx, locked, limits, provider, req.provider !== undefined);
        await this.checkDailyBuilds(tx, locked, limits);
        await this.deps.guard?.check({
          tx,
          user: locked,
          limits,
          provider: iterate ? (active.provider as ProviderName) : provider,
          ...(iterate ? { session: active } : {}),
        });
        return iterate
          ? this.createIteration(tx, active, prompt, requestKey)
          : this.createSession(tx, locked, limits, req, prompt, requestKey, provider);
      });
    } catch (e) {
      if (e instanceof DuplicateRequest) {
        const again = await this.existing(requestKey);
        if (again) return again;
      }
      throw e;
    }

    const { session, build } = outcome;
    await this.deps.queues.enqueueSpawn(
      {
        buildId: build.id,
        sessionId: session.id,
        correlationId: req.correlationId ?? requestKey,
        trace: injectTrace(),
        ...(attachments.length > 0 ? { attachments } : {}),
      },
      build.jobId,
    );
    await this.deps.notifier.publish(
      {
        sessionId: session.id,
        buildId: build.id,
        iteration: build.iteration,
        stage: outcome.kind === 'created' ? 'queued' : 'building',
        percent: STAGE_PERCENT.queued,
        detail: outcome.kind === 'created' ? 'waiting for a worker' : `iteration ${build.iteration} queued`,
        final: false,
        at: Date.now(),
      },
      req.correlationId,
    );
    this.deps.logger.info(
      { sessionId: session.id, buildId: build.id, kind: outcome.kind, correlationId: req.correlationId },
      'spawn requested',
    );
    return outcome;
  }

  private async existing(requestKey: string): Promise<SpawnOutcome | undefined> {
    const build = await this.deps.repos.builds.getByRequestKey(requestKey);
    if (!build) return undefined;
    const session = await this.deps.repos.sessions.get(build.sessionId);
    if (!session) return undefined;
    return { kind: build.iteration === 1 ? 'created' : 'iterating', session, build, duplicate: true };
  }

  /** Over the daily builds, a bought credit pays for the build; without one it is refused. */
  private async checkDailyBuilds(tx: Repos, user: UserRow, limits: PlanLimits): Promise<void> {
    const since = new Date(this.now().getTime() - 24 * HOUR_MS);
    const used = await tx.builds.countForUserSince(user.id, since);
    if (used < limits.buildsPerDay) return;
    if (user.credits > 0) {
      await tx.users.update(user.id, { credits: user.credits - 1 });
      await tx.audit.write({
        actor: `user:${user.id}`,
        action: 'credits.used',
        subjectType: 'user',
        subjectId: user.id,
        data: { left: user.credits - 1 },
      });
      return;
    }
    throw new SpawnError(
      'ERR_QUOTA_BUILDS',
      `You have used all ${limits.buildsPerDay} builds of the last 24 hours on the ${limits.plan} plan.`,
    );
  }

  private async checkNewSession(
    tx: Repos,
    user: UserRow,
    limits: PlanLimits,
    provider: ProviderName,
    asked: boolean,
  ): Promise<void> {
    const live = await tx.sessions.countActiveByUser(user.id);
    if (live >= limits.liveSessions) {
      throw new SpawnError(
        'ERR_QUOTA_LIVE',
        `You already have ${live} app${live === 1 ? '' : 's'} running; the ${limits.plan} plan allows ${limits.liveSessions}. Stop one with /stop first.`,
      );
    }
    if (limits.providers && !limits.providers.includes(provider)) {
      throw new SpawnError('ERR_PLAN_PROVIDER', undefined, {
        userMessage: `${asked ? 'The' : 'On this server, the'} ${limits.plan} plan cannot run apps on ${provider}; it runs them on ${limits.providers.join(', ')}.`,
      });
    }
  }

  private async checkNotBusy(tx: Repos, session: SessionRow): Promise<void> {
    const unfinished = await tx.builds.unfinishedForSession(session.id);
    if (unfinished) {
      throw new SpawnError('ERR_BUSY', undefined, {
        userMessage: `Still working on change ${unfinished.iteration} of this app; send your next change when it is live.`,
      });
    }
  }

  private async createSession(
    tx: Repos,
    user: UserRow,
    limits: PlanLimits,
    req: SpawnRequest,
    prompt: string,
    requestKey: string,
    provider: ProviderName,
  ): Promise<SpawnOutcome> {
    const session = await tx.sessions.create({
      id: newSessionId(),
      userId: user.id,
      platform: req.platform,
      conversationKey: conversationKey(req.conversation),
      conversation: req.conversation,
      prompt,
      provider,
      ttlMinutes: limits.ttlMinutes,
    });
    const build = await tx.builds.createOnce({
      sessionId: session.id,
      iteration: 1,
      requestKey,
      jobId: jobIdFor('spawn', requestKey),
      prompt,
      builder: this.deps.builderName,
    });
    if (!build) throw new DuplicateRequest();
    return { kind: 'created', session, build, duplicate: false };
  }

  private async createIteration(
    tx: Repos,
    session: SessionRow,
    prompt: string,
    requestKey: string,
  ): Promise<SpawnOutcome> {
    const latest = await tx.builds.latestForSession(session.id);
    const build = await tx.builds.createOnce({
      sessionId: session.id,
      iteration: (latest?.iteration ?? 0) + 1,
      requestKey,
      jobId: jobIdFor('spawn', requestKey),
      prompt,
      builder: this.deps.builderName,
    });
    if (!build) throw new DuplicateRequest();
    return { kind: 'iterating', session, build, duplicate: false };
  }

  /** The user behind a platform identity (created on first sight). */
  resolveUser(requester: Requester): Promise<UserRow> {
    return resolveUser(this.deps.repos, requester);
  }

  /** A session by id, or else the conversation's active one, or else the person's newest active one. */
  async findSession(
    requester: Requester,
    conversation: ConversationRef | undefined,
    sessionId?: string,
  ): Promise<SessionRow | undefined> {
    if (sessionId) return this.deps.repos.sessions.get(sessionId);
    if (conversation) {
      const inConversation = await this.deps.repos.sessions.findActiveInConversation(
        conversationKey(conversation),
      );
      if (inConversation) return inConversation;
    }
    const user = await this.resolveUser(requester);
    const [newest] = await this.deps.repos.sessions.listByUser(user.id, { activeOnly: true, limit: 1 });
    return newest;
  }

  async list(requester: Requester, limit = 10): Promise<SessionRow[]> {
    const user = await this.resolveUser(requester);
    return this.deps.repos.sessions.listByUser(user.id, { limit });
  }
}
