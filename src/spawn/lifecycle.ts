import { isTerminal } from '../core/status.js';
import type { Repos, SessionRow, UserRow } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { Notifier } from '../notify/notifier.js';
import type { Queues } from '../queue/producer.js';
import { MINUTE_MS } from '../util/time.js';
import type { LimitsPolicy } from './limits.js';
import { type Requester, resolveUser } from './requester.js';

export interface SessionLifecycleDeps {
  repos: Repos;
  queues: Queues;
  notifier: Notifier;
  limits: LimitsPolicy;
  now?: () => Date;
}

/** How a session can end; `failed` also by the worker when a first build fails for good. */
export type EndStatus = 'stopped' | 'expired' | 'failed';

/**
 * What happens to a session after intake: its owner stops or extends it, the reaper expires
 * it or ends it when its app cannot run, an operator stops it. Intake (new sessions and
 * builds) is SpawnService's; the reaper needs only this.
 */
export class SessionLifecycle {
  private readonly now: () => Date;

  constructor(private readonly deps: SessionLifecycleDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Stops a session (owner only): the app is destroyed by the worker, the card says so. */
  async stop(sessionId: string, requester: Requester, reason = 'stopped by its owner'): Promise<SessionRow> {
    const { session, user } = await this.requireOwner(sessionId, requester);
    if (isTerminal(session.status)) {
      throw new SpawnError('ERR_SESSION_ENDED', undefined, {
        userMessage: `That app has already ${session.status}.`,
      });
    }
    return this.end(session, 'stopped', `user:${user.id}`, reason);
  }

  /** Ends a session whose time ran out. */
  async expire(session: SessionRow, actor = 'reaper'): Promise<SessionRow> {
    return this.end(session, 'expired', actor, 'its time ran out');
  }

  /**
   * Ends a session: status change with its audit row, the app and bundles removed by a
   * reap job, the status card and the conversation told.
   */
  async end(session: SessionRow, status: EndStatus, actor: string, reason: string): Promise<SessionRow> {
    const { session: ended, changed } = await this.deps.repos.sessions.transition(session.id, status, {
      actor,
      reason,
    });
    if (!changed) return ended;
    const latest = await this.deps.repos.builds.latestForSession(session.id);
    if (latest && ['queued', 'building', 'deploying'].includes(latest.status)) {
      await this.deps.repos.builds.update(latest.id, {
        status: 'cancelled',
        finishedAt: this.now(),
        error: reason,
      });
    }
    await this.deps.queues.enqueueReap(
      { kind: 'destroy', sessionId: session.id, reason },
      `destroy-${session.id}`,
    );
    if (latest) {
      await this.deps.notifier.publish({
        sessionId: session.id,
        buildId: latest.id,
        iteration: latest.iteration,
        stage: status,
        percent: 100,
        detail: reason,
        final: true,
        reason,
        at: Date.now(),
      });
    }
    return ended;
  }

  /** Adds the plan's extension time, up to the plan's longest lifetime. Owner only. */
  async extend(sessionId: string, requester: Requester): Promise<SessionRow> {
    const { session, user } = await this.requireOwner(sessionId, requester);
    if (isTerminal(session.status)) {
      throw new SpawnError('ERR_SESSION_ENDED', undefined, {
        userMessage: `That app has already ${session.status}.`,
      });
    }
    const limits = this.deps.limits.limitsFor(user);
    const cap = session.createdAt.getTime() + limits.maxSessionMinutes * MINUTE_MS;
    const base = session.expiresAt?.getTime() ?? this.now().getTime() + session.ttlMinutes * MINUTE_MS;
    if (base >= cap) {
      throw new SpawnError('ERR_EXTEND_LIMIT', undefined, {
        userMessage: `This app already runs as long as the ${limits.plan} plan allows (${Math.round(limits.maxSessionMinutes / 60)} h in all).`,
      });
    }
    const until = new Date(Math.min(base + limits.extendMinutes * MINUTE_MS, cap));
    const patch = session.expiresAt
      ? { expiresAt: until }
      : { ttlMinutes: session.ttlMinutes + Math.round((until.getTime() - base) / MINUTE_MS) };
    const updated = (await this.deps.repos.sessions.update(session.id, patch)) ?? session;
    await this.deps.repos.audit.write({
      actor: `user:${user.id}`,
      action: 'session.extended',
      subjectType: 'session',
      subjectId: session.id,
      data: { until: until.toISOString() },
    });
    await this.refreshCard(updated);
    return updated;
  }

  private async requireOwner(
    sessionId: string,
    requester: Requester,
  ): Promise<{ session: SessionRow; user: UserRow }> {
    const session = await this.deps.repos.sessions.get(sessionId);
    if (!session) throw new SpawnError('ERR_SESSION_NOT_FOUND', `I cannot find an app with id ${sessionId}.`);
    const user = await resolveUser(this.deps.repos, requester);
    if (session.userId !== user.id) throw new SpawnError('ERR_NOT_OWNER');
    return { session, user };
  }

  /** Re-publishes the latest state so the card shows changed facts (e.g. time left). */
  private async refreshCard(session: SessionRow): Promise<void> {
    if (session.status !== 'live') return; // a building card shows no time left yet
    const latest = await this.deps.repos.builds.latestForSession(session.id);
    if (latest?.status !== 'succeeded') return; // an iteration is under way; its card moves anyway
    await this.deps.notifier.publish({
      sessionId: session.id,
      buildId: latest.id,
      iteration: latest.iteration,
      stage: 'live',
      percent: 100,
      detail: 'time extended',
      final: true,
      at: Date.now(),
    });
  }
}
