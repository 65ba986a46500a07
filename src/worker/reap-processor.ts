import type { Job } from 'bullmq';
import { isTerminal } from '../core/status.js';
import type { Repos, SessionRow } from '../db/repos/index.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { StatusViews } from '../notify/views.js';
import { isGuarded } from '../provision/resilience/guarded.js';
import { originOf, type Provider, type ProviderName } from '../provision/types.js';
import type { JobHandler } from '../queue/error-boundary.js';
import type { ReapJobData } from '../queue/jobs.js';
import type { Queues } from '../queue/producer.js';
import type { SessionLifecycle } from '../spawn/lifecycle.js';
import type { LimitsPolicy } from '../spawn/limits.js';
import type { BundleStore } from '../storage/types.js';
import { MINUTE_MS } from '../util/time.js';
import { deployStoredBuild, recordDeployment } from './deploy-build.js';
import type { PollGate } from './poll-gate.js';

export interface ReapDeps {
  repos: Repos;
  providers: ReadonlyMap<ProviderName, Provider>;
  store: BundleStore;
  /** Ends sessions (expiry, an app that cannot run); the reaper needs nothing of intake. */
  lifecycle: SessionLifecycle;
  notifier: Notifier;
  queues: Queues;
  logger: Logger;
  deployTimeoutMs: number;
  /** The "ends soon" notice's words; without them no notice is sent. */
  views?: Pick<StatusViews, 'endingSoon'>;
  /** How long before its end a live app's owner is told (default {@link ENDING_NOTICE_MS}). */
  endingNoticeMs?: number;
  /** Plans: how long a redeployed app's bundle URL must last. */
  limits?: LimitsPolicy;
  /** An unfinished build whose job is gone for this long is recovered. */
  lostJobAfterMs?: number;
  /**
   * The workers' lock duration (WORKER_LOCK_MS): after Redis lost its data, a build that was
   * running is re-queued this much later, once its old run has noticed its lost lock and stopped.
   */
  lockDurationMs?: number;
  /**
   * When scheduled sweeps may list a cloud provider's services again (shared by all workers);
   * without one, every sweep lists them.
   */
  pollGate?: PollGate;
  /** Default {@link CLOUD_POLL_INTERVAL_MS} (PROVIDER_POLL_INTERVAL_MS). */
  cloudPollIntervalMs?: number;
  now?: () => number;
}

/** Why a sweep runs; only scheduled sweeps hold back cloud polling. */
export type SweepReason = Extract<ReapJobData, { kind: 'sweep' }>['reason'];

/**
 * How often scheduled sweeps list Railway's and Render's services: 6 requests an hour, where a
 * listing every minute took 60 of the 100 an hour Railway's free plan allows.
 */
export const CLOUD_POLL_INTERVAL_MS = 10 * MINUTE_MS;

/** A live app's owner is told this long before it is destroyed, with Extend and Export. */
export const ENDING_NOTICE_MS = 10 * MINUTE_MS;

export interface SweepReport {
  expired: string[];
  /** Sessions whose owner was told the app ends soon. */
  endingNotices: string[];
  orphansRemoved: string[];
  restarted: string[];
  recovered: string[];
  failed: string[];
}

const INBOUND_EVENT_RETENTION_MS = 7 * 24 * 60 * MINUTE_MS;

/**
 * The reaper: ends sessions whose time ran out, removes apps no live session owns, restarts
 * live apps that stopped running (e.g. after the service restarted), and recovers builds whose
 * job was lost, so no app keeps running unpaid and no session stays stuck.
 */
export function createReapProcessor(deps: ReapDeps): JobHandler<ReapJobData, SweepReport | 'destroyed'> {
  return async (job: Job<ReapJobData>): Promise<SweepReport | 'destroyed'> => {
    if (job.data.kind === 'destroy') {
      await destroySession(deps, job.data.sessionId, job.data.reason);
      return 'destroyed';
    }
    return sweep(deps, job.data.reason);
  };
}

/**
 * The providers this sweep reconciles: the local one always (it costs nothing), a cloud one
 * only when the poll gate lets it (scheduled sweeps: once per poll interval across all workers;
 * a start-up or manual sweep always polls).
 */
async function providersToPoll(deps: ReapDeps, reason: SweepReason): Promise<Map<ProviderName, Provider>> {
  const out = new Map<ProviderName, Provider>();
  const now = (deps.now ?? Date.now)();
  for (const [name, provider] of deps.providers) {
    const cloud = isGuarded(provider);
    const poll =
      !cloud ||
      !deps.pollGate ||
      (await deps.pollGate.claim(
        `reaper:${name}`,
        deps.cloudPollIntervalMs ?? CLOUD_POLL_INTERVAL_MS,
        now,
        reason !== 'schedule',
      ));
    if (poll) out.set(name, provider);
  }
  return out;
}

export async function sweep(deps: ReapDeps, reason: SweepReason = 'manual'): Promise<SweepReport> {
  const report: SweepReport = {
    expired: [],
    endingNotices: [],
    orphansRemoved: [],
    restarted: [],
    recovered: [],
    failed: [],
  };
  await expire(deps, report);
  await noticeEndingSoon(deps, report);
  const polled = await providersToPoll(deps, reason);
  await removeOrphans(deps, polled, report);
  await restartStopped(deps, polled, report);
  await recoverLostBuilds(deps, report, reason === 'redis-reset');
  await deps.repos.inboundEvents.prune(new Date(Date.now() - INBOUND_EVENT_RETENTION_MS));
  const changed = Object.values(report).some((list) => list.length > 0);
  if (changed) deps.logger.info(report, 'reaper sweep');
  return report;
}

async function expire(deps: ReapDeps, report: SweepReport): Promise<void> {
  for (const session of await deps.repos.sessions.listExpired(new Date())) {
    try {
      await deps.lifecycle.expire(session);
      report.expired.push(session.id);
    } catch (e) {
      deps.logger.error({ sessionId: session.id, err: describeError(e) }, 'could not expire a session');
    }
  }
}

/**
 * Tells the owner of each live app that ends within the notice period, once per end time (an
 * extension moves the end, so a later notice comes again). The post's job id makes it once
 * across workers and retries (posted before the mark, so a failure loses nothing); the mark in
 * the database keeps later sweeps from listing the session again.
 */
async function noticeEndingSoon(deps: ReapDeps, report: SweepReport): Promise<void> {
  const { views } = deps;
  if (!views) return;
  const now = new Date((deps.now ?? Date.now)());
  const before = new Date(now.getTime() + (deps.endingNoticeMs ?? ENDING_NOTICE_MS));
  for (const session of await deps.repos.sessions.listEndingSoon(now, before)) {
    const end = session.expiresAt;
    if (!end) continue;
    try {
      const jobId = `ending-${session.id}-${end.getTime()}`;
      await deps.queues.enqueuePost(
        {
          kind: 'post',
          sessionId: session.id,
          conversation: session.conversation,
          view: views.endingSoon(session, now),
        },
        jobId,
      );
      await deps.repos.sessions.claimEndingNotice(session.id, end);
      report.endingNotices.push(session.id);
    } catch (e) {
      deps.logger.error({ sessionId: session.id, err: describeError(e) }, 'could not send the ending notice');
    }
  }
}

async function destroySession(deps: ReapDeps, sessionId: string, reason: string): Promise<void> {
  const session = await deps.repos.sessions.get(sessionId);
  if (session && !isTerminal(session.status)) {
    deps.logger.warn({ sessionId }, 'destroy requested for a session that is still active; skipped');
    return;
  }
  const provider = session ? deps.providers.get(session.provider as ProviderName) : undefined;
  const targets = provider ? [provider] : [...deps.providers.values()];
  for (const p of targets) await p.destroy(sessionId);
  await deps.store.deleteSession(sessionId);
  await deps.repos.audit.write({
    actor: 'reaper',
    action: 'session.destroyed',
    subjectType: 'session',
    subjectId: sessionId,
    data: { reason, providers: targets.map((p) => p.name) },
  });
}

async function removeOrphans(
  deps: ReapDeps,
  providers: ReadonlyMap<ProviderName, Provider>,
  report: SweepReport,
): Promise<void> {
  for (const provider of providers.values()) {
    let services: Awaited<ReturnType<Provider['list']>>;
    try {
      services = await provider.list();
    } catch (e) {
      deps.logger.warn({ provider: provider.name, err: describeError(e) }, 'could not list services');
      continue;
    }
    for (const service of services) {
      const session = await deps.repos.sessions.get(service.sessionId);
      // A session that moved to another provider (PROVIDER_FALLBACK) does not own this one's copy.
      const owned = session && !isTerminal(session.status) && session.provider === provider.name;
      if (owned) continue;
      try {
        await provider.destroy(service.sessionId);
        report.orphansRemoved.push(service.serviceId);
        await deps.repos.audit.write({
          actor: 'reaper',
          action: 'service.reaped',
          subjectType: 'service',
          subjectId: service.serviceId,
          data: {
            provider: provider.name,
            sessionId: service.sessionId,
            why: !session
              ? 'no such session'
              : isTerminal(session.status)
                ? `session ${session.status}`
                : `session runs on ${session.provider}`,
          },
        });
      } catch (e) {
        deps.logger.error(
          { serviceId: service.serviceId, err: describeError(e) },
          'could not remove an orphan app',
        );
      }
    }
  }
}

/**
 * A live session's app that no longer runs is started again from its last good bundle (the
 * local provider stops apps when the service shuts down); if that fails the session ends
 * `failed` and the person is told.
 */
async function restartStopped(
  deps: ReapDeps,
  providers: ReadonlyMap<ProviderName, Provider>,
  report: SweepReport,
): Promise<void> {
  for (const session of await deps.repos.sessions.listByStatus(['live'])) {
    const provider = providers.get(session.provider as ProviderName);
    if (!provider) continue;
    if (await deps.repos.builds.unfinishedForSession(session.id)) continue;
    let state: 'running' | 'stopped' | 'missing';
    try {
      state = await provider.status(session.id);
    } catch {
      continue;
    }
    if (state === 'running') continue;
    // An app one of its limits ended would only reach it again: the session ends, saying why.
    const limit = await provider.stopReason?.(session.id).catch(() => undefined);
    if (limit) {
      report.failed.push(session.id);
      await deps.lifecycle.end(session, 'failed', 'reaper', `The app was stopped: ${limit}.`);
      continue;
    }
    try {
      await redeployLastGood(deps, provider, session);
      report.restarted.push(session.id);
    } catch (e) {
      report.failed.push(session.id);
      deps.logger.error({ sessionId: session.id, err: describeError(e) }, 'could not restart a live app');
      await deps.lifecycle.end(
        session,
        'failed',
        'reaper',
        'the app stopped running and could not be restarted',
      );
    }
  }
}

async function redeployLastGood(deps: ReapDeps, provider: Provider, session: SessionRow): Promise<void> {
  const build = await deps.repos.builds.latestSucceeded(session.id);
  if (!build?.bundleKey || !build.bundleSha256) throw new Error('no bundle to restart from');
  const bundle = { key: build.bundleKey, sha256: build.bundleSha256, bytes: build.bundleBytes ?? 0 };
  const user = await deps.repos.users.get(session.userId);
  const deployment = await deployStoredBuild({
    provider,
    store: deps.store,
    session,
    build: { id: build.id, bundle, origin: originOf(build.builder) },
    limits: user && deps.limits ? deps.limits.limitsFor(user) : undefined,
    previewTimeoutMs: deps.deployTimeoutMs,
    signal: AbortSignal.timeout(deps.deployTimeoutMs),
  });
  await deps.repos.audit.write({
    actor: 'reaper',
    action: 'session.restarted',
    subjectType: 'session',
    subjectId: session.id,
    data: { url: deployment.url, previousUrl: session.previewUrl },
  });
  if (deployment.url !== session.previewUrl) {
    await recordDeployment(deps.repos, session.id, deployment);
    const fresh = await deps.repos.sessions.get(session.id);
    if (fresh) {
      await deps.notifier.publish({
        sessionId: session.id,
        buildId: build.id,
        iteration: build.iteration,
        stage: 'live',
        percent: 100,
        detail: 'restarted at a new address',
        final: true,
        at: Date.now(),
      });
    }
  }
}

/**
 * Builds whose job vanished (lost between insert and enqueue, or with Redis's data) or died
 * for good. After Redis lost its data every missing job is known lost, whatever its age.
 */
async function recoverLostBuilds(deps: ReapDeps, report: SweepReport, redisReset: boolean): Promise<void> {
  const olderThan = redisReset ? Date.now() : Date.now() - (deps.lostJobAfterMs ?? 2 * MINUTE_MS);
  for (const build of await deps.repos.builds.listUnfinished()) {
    if (build.createdAt.getTime() > olderThan) continue;
    const job = await deps.queues.spawn.getJob(build.jobId);
    const state = job ? await job.getState() : 'missing';
    if (state === 'missing') {
      // A build a worker had started may still be running there until it finds its lock gone.
      const started = redisReset && build.status !== 'queued';
      await deps.queues.enqueueSpawn(
        { buildId: build.id, sessionId: build.sessionId, correlationId: build.requestKey },
        build.jobId,
        started ? deps.lockDurationMs : undefined,
      );
      deps.logger.warn(
        { buildId: build.id, sessionId: build.sessionId, status: build.status },
        'build had no job; queued it again',
      );
      report.recovered.push(build.id);
      continue;
    }
    if (state !== 'failed' && state !== 'completed') continue;
    const reason = 'the build was interrupted and could not be finished';
    await deps.repos.builds.update(build.id, {
      status: 'failed',
      error: reason,
      errorCode: 'ERR_BUILD_FAILED',
      finishedAt: new Date(),
    });
    const session = await deps.repos.sessions.get(build.sessionId);
    if (session && build.iteration === 1 && !isTerminal(session.status)) {
      await deps.lifecycle.end(session, 'failed', 'reaper', reason);
    } else if (session) {
      await deps.notifier.publish({
        sessionId: session.id,
        buildId: build.id,
        iteration: build.iteration,
        stage: 'failed',
        percent: 100,
        detail: reason,
        final: true,
        reason,
        at: Date.now(),
      });
    }
    report.failed.push(build.id);
  }
}
