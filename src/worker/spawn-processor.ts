import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import {
  type AppFile,
  type Builder,
  type BuildResult,
  type BuildUsage,
  usageOfFailedBuild,
} from '../builder/types.js';
import type { AttachmentSource } from '../core/attachments.js';
import { canTransition, isTerminal, type SessionStatus } from '../core/status.js';
import type { Stage } from '../core/view.js';
import type { BuildRow, FileEntry, Repos, SessionRow, UserRow } from '../db/repos/index.js';
import { ERRORS, SpawnError, type StartupFailure, toSpawnError } from '../errors.js';
import { packBundle, unpackBundle } from '../lib/bundle-codec.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Notifier } from '../notify/notifier.js';
import { type ProgressEvent, STAGE_PERCENT } from '../notify/progress.js';
import { chooseAvailableProvider } from '../provision/resilience/guarded.js';
import { type Deployment, originOf, type Provider, type ProviderName } from '../provision/types.js';
import type { JobHandler } from '../queue/error-boundary.js';
import type { SpawnJobData } from '../queue/jobs.js';
import type { LimitsPolicy, PlanLimits } from '../spawn/limits.js';
import type { BundleStore, StoredBundle } from '../storage/types.js';
import { MINUTE_MS } from '../util/time.js';
import { deployStoredBuild, recordDeployment } from './deploy-build.js';
import { restoreVersion } from './restore-version.js';
import { runStage } from './stage.js';
import {
  PREVIEW_WAIT_MARGIN_MS,
  previewFailed,
  repairedNote,
  repairLabel,
  stillBroken,
} from './startup-repair.js';

export interface SpawnProcessorDeps {
  repos: Repos;
  builder: Builder;
  store: BundleStore;
  /** Every configured provider; each session runs on the one recorded on it. */
  providers: ReadonlyMap<ProviderName, Provider>;
  notifier: Notifier;
  limits: LimitsPolicy;
  timeouts: { buildMs: number; storeMs: number; deployMs: number };
  logger: Logger;
  metrics?: Metrics;
  /** Fetches the pictures of a request with each platform's own credentials. */
  attachments?: AttachmentSource;
}

/** Raised when the session ended (stopped, expired) while its build was running. */
class SessionEnded extends Error {}

/**
 * One build of a session: build → store → deploy → wait for 200 → live. Safe to run again
 * from the start (a retried or stalled job): every step is idempotent by session and build.
 * What an error means (retry, wait out a rate limit, fail at once) is the worker's error
 * boundary's to decide; this tells the person and ends the build and a first build's session
 * `failed` when it fails for good.
 */
export function createSpawnProcessor(deps: SpawnProcessorDeps): JobHandler<SpawnJobData, string> {
  return async (job, scope): Promise<string> => {
    const { buildId, sessionId } = job.data;
    // The correlation id is on every line already (the logger's mixin reads it from the job's context).
    const log = deps.logger.child({ jobId: job.id, sessionId, buildId });
    const build = await deps.repos.builds.get(buildId);
    const session = await deps.repos.sessions.get(sessionId);
    if (!build || !session) {
      log.warn('spawn job for a build that does not exist; dropped');
      return 'missing';
    }
    if (['succeeded', 'failed', 'cancelled'].includes(build.status)) return build.status;
    if (isTerminal(session.status)) {
      await deps.repos.builds.update(buildId, { status: 'cancelled', finishedAt: new Date() });
      return 'cancelled';
    }
    const run = new BuildRun(deps, job, build, session, log);
    const outcome = (o: 'succeeded' | 'failed' | 'cancelled') =>
      deps.metrics?.builds.inc({ builder: deps.builder.name, outcome: o });
    scope.onError({
      delaying: (err, waitMs) =>
        run.emit(
          run.stage,
          run.percent,
          `${ERRORS[err.code].message.replace(/\.$/, '')}; trying again in ${Math.ceil(waitMs / 1000)} s`,
        ),
      retrying: () => run.emit(run.stage, run.percent, 'a temporary problem; trying again shortly'),
      failed: async (err) => {
        await run.fail(err.userMessage, err.code);
        await run.releasePictures();
        outcome('failed');
      },
    });
    try {
      await run.execute(scope.signal);
      // Kept until the job is over for good: a retried job builds again and needs them.
      await run.releasePictures();
      outcome('succeeded');
      return 'succeeded';
    } catch (e) {
      await run.recordFailedUsage(e);
      if (e instanceof SessionEnded) {
        await run.releasePictures();
        log.info('session ended during its build; stopped working on it');
        outcome('cancelled');
        return 'cancelled';
      }
      if (scope.signal?.aborted) {
        // Cancelled (shutdown, or the job lost its lock): the build stays unfinished, so the
        // job's next run, or the reaper, takes it up; telling the person it failed would be wrong.
        log.warn({ why: String(scope.signal.reason) }, 'build stopped before it finished; left to run again');
      } else {
        run.countDeployFailure(toSpawnError(e).code);
      }
      throw e;
    }
  };
}

function addUsage(a: BuildUsage, b: BuildUsage): BuildUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    costMicroUsd: a.costMicroUsd + b.costMicroUsd,
  };
}

class BuildRun {
  stage: Stage = 'queued';
  percent: number = STAGE_PERCENT.queued;
  private readonly first: boolean;
  /** Set once the provider was asked to replace the app: a failure after it needs a rollback. */
  private deployStarted = false;
  /** Why the session moved to its fallback provider; told again with the result. */
  private switchNotice: string | undefined;
  /** The provider asked to deploy, until the preview answered: a failure then is a deploy failure. */
  private deployingOn: string | undefined;
  /** The provider of the deploy stage (the fallback's, if the session moved). */
  private deployProvider: Provider | undefined;
  /** The owner's plan as the generate stage read it: its model, budget and repairs. */
  private plan: PlanLimits | undefined;
  /** The session's owner, read once: the plan a build started under holds until it ends. */
  private owner: Promise<UserRow | undefined> | undefined;
  /** Tokens and cost on the build row: earlier attempts' and this run's stored rounds. */
  private usage: BuildUsage;
  /** The progress event waiting for the one being published; a newer one replaces it. */
  private nextEvent: ProgressEvent | undefined;
  /** Publishes progress events one after another while there are any. */
  private publishing: Promise<void> | undefined;

  constructor(
    private readonly deps: SpawnProcessorDeps,
    private readonly job: Job<SpawnJobData>,
    private readonly build: BuildRow,
    private session: SessionRow,
    private readonly log: Logger,
  ) {
    this.first = build.iteration === 1;
    this.usage = {
      inputTokens: build.inputTokens,
      outputTokens: build.outputTokens,
      cacheReadTokens: build.cacheReadTokens,
      cacheWriteTokens: build.cacheWriteTokens,
      costMicroUsd: build.costMicroUsd,
    };
  }

  /**
   * Reports progress without holding the build up: the card shows the latest state only, so
   * an event that arrives while another is being published replaces the one waiting (as the
   * status store would). A final state waits for the one in flight and is always published.
   */
  emit(stage: Stage, percent: number, detail: string, final = false, reason?: string): Promise<void> {
    this.stage = stage;
    this.percent = Math.max(this.percent, percent);
    const event: ProgressEvent = {
      sessionId: this.session.id,
      buildId: this.build.id,
      iteration: this.build.iteration,
      stage,
      percent: final ? percent : this.percent,
      detail,
      final,
      ...(reason ? { reason } : {}),
      at: Date.now(),
    };
    if (final) {
      this.nextEvent = undefined;
      return (this.publishing ?? Promise.resolve()).then(() =>
        this.deps.notifier.publish(event, this.job.data.correlationId),
      );
    }
    this.nextEvent = event;
    this.publishing ??= this.publishProgress();
    return Promise.resolve();
  }

  private async publishProgress(): Promise<void> {
    try {
      for (let event = this.nextEvent; event; event = this.nextEvent) {
        this.nextEvent = undefined;
        await this.deps.notifier.publish(event, this.job.data.correlationId).catch((e: unknown) => {
          // A lost progress edit is not worth failing a build for; the final state is awaited.
          this.log.warn({ err: String(e), stage: event?.stage }, 'progress not published');
        });
      }
    } finally {
      this.publishing = undefined;
    }
  }

  /** The provider this session runs on; a session for one that is no longer configured cannot be built. */
  private provider(): Provider {
    const provider = this.deps.providers.get(this.session.provider as ProviderName);
    if (!provider) {
      throw new SpawnError('ERR_PROVIDER_NOT_CONFIGURED', undefined, {
        userMessage: `This app runs on ${this.session.provider}, which is not configured on this server any more.`,
      });
    }
    return provider;
  }

  /**
   * The session's provider, unless it refuses new deploys right now (circuit open, Render's
   * hourly budget spent): then a first build moves to the configured fallback (PROVIDER_FALLBACK),
   * with an audit row and a word to the person; otherwise the refusal fails fast.
   */
  private async availableProvider(): Promise<Provider> {
    const user = await this.user();
    const allowed = user ? this.deps.limits.limitsFor(user).providers : undefined;
    const choice = await chooseAvailableProvider(this.deps.providers, this.provider(), this.session.id, {
      canSwitch: this.first && !this.deployStarted,
      ...(allowed ? { allowed: (name: ProviderName) => allowed.includes(name) } : {}),
    });
    if (!choice.switched) return choice.provider;
    const { from, to, reason, notice } = choice.switched;
    this.session = (await this.deps.repos.sessions.update(this.session.id, { provider: to })) ?? this.session;
    await this.deps.repos.audit.write({
      actor: 'worker',
      action: 'session.provider_switched',
      subjectType: 'session',
      subjectId: this.session.id,
      data: { from, to, reason },
    });
    this.log.warn({ from, to, reason }, 'provider refused; session moved to the fallback provider');
    this.switchNotice = notice;
    await this.emit(this.stage, this.percent, notice);
    return choice.provider;
  }

  /** Moves a first build's session forward; a repeat after a retry is a no-op. */
  private async advance(to: SessionStatus): Promise<void> {
    if (this.first && canTransition(this.session.status, to)) {
      // The usual case: the session is as this run last saw it, and moves on in one statement.
      try {
        const { session } = await this.deps.repos.sessions.transition(this.session.id, to, {
          actor: 'worker',
          expected: this.session.status,
        });
        this.session = session;
        return;
      } catch (e) {
        if (!(e instanceof SpawnError)) throw e;
        if (e.code === 'ERR_SESSION_NOT_FOUND') throw new SessionEnded();
        if (e.code !== 'ERR_SESSION_TRANSITION') throw e;
        // Ended meanwhile, or further along (a retried job): as below.
      }
    }
    const current = await this.deps.repos.sessions.get(this.session.id);
    if (!current || isTerminal(current.status)) throw new SessionEnded();
    this.session = current;
    if (!this.first || !canTransition(current.status, to)) return;
    const { session } = await this.deps.repos.sessions.transition(this.session.id, to, { actor: 'worker' });
    this.session = session;
  }

  private async ensureActive(): Promise<void> {
    const current = await this.deps.repos.sessions.get(this.session.id);
    if (!current || isTerminal(current.status)) throw new SessionEnded();
    this.session = current;
  }

  /** One build, as the list of its stages; each is safe to run again after a retry. */
  async execute(signal: AbortSignal | undefined): Promise<void> {
    await this.prepare();
    const built = await this.generate(signal);
    const stored = await this.store(built, signal);
    const { deployment, result, repairs } = await this.deploy(built, stored, signal);
    await this.verify();
    await this.record(deployment);
    await this.announce(result, repairs, deployment);
  }

  /**
   * The provider is chosen (refused before anything is built and paid for: a local server
   * without a sandbox), the build row and a first build's session move to `building`.
   */
  private async prepare(): Promise<void> {
    const { repos, builder } = this.deps;
    const provider = await this.availableProvider();
    await provider.assertCanRun?.(originOf(builder.name));
    await repos.builds.update(this.build.id, {
      status: 'building',
      attempts: this.job.attemptsMade + 1,
      startedAt: this.build.startedAt ?? new Date(),
      builder: builder.name,
    });
    await this.advance('building');
    await this.emit('building', STAGE_PERCENT.buildingStart, `starting ${builder.label}`);
  }

  /** The builder writes the app (from the previous version's files on an iteration). */
  private async generate(signal: AbortSignal | undefined): Promise<BuildResult> {
    const { builder, timeouts, repos } = this.deps;
    // A rollback reads an earlier version back from the store: no model call, no cost.
    const rollback = this.build.rollbackOf !== null;
    const buildApp: Builder['build'] = rollback
      ? () => restoreVersion(repos, this.deps.store, this.build)
      : (request) => builder.build(request);
    const previousFiles = this.first || rollback ? undefined : await this.previousFiles();
    const limits = await this.limits();
    this.plan = limits;
    const span = STAGE_PERCENT.buildingEnd - STAGE_PERCENT.buildingStart;
    const stageStarted = performance.now();
    const result = await runStage(timeouts.buildMs, 'ERR_BUILD_TIMEOUT', signal, async (stageSignal) => {
      // Fetched here, in the build's time, and kept in memory only: checked before any model call.
      const images = rollback ? [] : await this.pictures(stageSignal);
      return buildApp({
        sessionId: this.session.id,
        buildId: this.build.id,
        prompt: this.build.prompt,
        originalPrompt: this.session.prompt,
        ...(previousFiles ? { previousFiles } : {}),
        ...(images.length > 0 ? { images } : {}),
        ...(limits?.model ? { model: limits.model } : {}),
        ...(limits?.effort ? { effort: limits.effort } : {}),
        budget: {
          maxOutputTokens: limits?.maxOutputTokens ?? 32_000,
          wallTimeMs: Math.min(limits?.buildWallTimeMs ?? timeouts.buildMs, timeouts.buildMs),
        },
        onProgress: (p) => {
          void this.emit('building', STAGE_PERCENT.buildingStart + (p.percent / 100) * span, p.detail);
        },
        signal: stageSignal,
      });
    });
    this.observeStage('build', stageStarted);
    this.countUsage(result.usage, result.model ?? builder.name);
    await this.ensureActive();
    return result;
  }

  /** The built version is stored; the session takes the app's title. */
  private async store(result: BuildResult, signal: AbortSignal | undefined): Promise<StoredBundle> {
    const stored = await this.storeVersion(result, signal);
    if (this.first || result.title) {
      this.session =
        (await this.deps.repos.sessions.update(this.session.id, { title: result.title.slice(0, 120) })) ??
        this.session;
    }
    return stored;
  }

  /**
   * Deploys the stored version and waits for its preview. An app that does not start goes
   * back to the builder with its log, up to the plan's repairs, each repaired version stored
   * and deployed in turn.
   */
  private async deploy(
    built: BuildResult,
    stored: StoredBundle,
    signal: AbortSignal | undefined,
  ): Promise<{ deployment: Deployment; result: BuildResult; repairs: number }> {
    await this.advance('deploying');
    this.deployProvider = await this.availableProvider();
    const maxRepairs = this.plan?.maxRepairs ?? 0;
    let result = built;
    let version = stored;
    for (let repairs = 0; ; repairs++) {
      try {
        const deployment = await this.deployVersion(this.deployProvider, version, signal);
        return { deployment, result, repairs };
      } catch (e) {
        const err = toSpawnError(e);
        const startup = err.startup;
        if (!startup || !result.repair) throw err;
        if (repairs >= maxRepairs) throw stillBroken(startup, repairs);
        result = await this.repair(result.repair, startup, repairs + 1, maxRepairs, signal);
        version = await this.storeVersion(result, signal);
      }
    }
  }

  /** The app was built and deployed but does not start: its log goes back to the model. */
  private async repair(
    repair: NonNullable<BuildResult['repair']>,
    failure: StartupFailure,
    attempt: number,
    maxRepairs: number,
    signal: AbortSignal | undefined,
  ): Promise<BuildResult> {
    const label = repairLabel(attempt, maxRepairs);
    this.log.info({ check: failure.check, repair: attempt }, 'app did not start; asking for a repair');
    await this.emit('deploying', this.percent, label);
    const stageStarted = performance.now();
    const result = await runStage(this.deps.timeouts.buildMs, 'ERR_BUILD_TIMEOUT', signal, (stageSignal) =>
      repair({
        failure,
        attempt,
        onProgress: (p) => {
          void this.emit('deploying', this.percent, `${label}: ${p.detail}`);
        },
        signal: stageSignal,
      }),
    );
    this.observeStage('build', stageStarted);
    this.countUsage(result.usage, result.model ?? this.deps.builder.name);
    await this.ensureActive();
    return result;
  }

  /** The session still wants its app: one stopped while deploying must not outlive it. */
  private async verify(): Promise<void> {
    try {
      await this.ensureActive();
    } catch (e) {
      await this.deployProvider?.destroy(this.session.id).catch(() => {});
      throw e;
    }
  }

  /** The deployment goes on the session (a first build's goes live) and the build succeeds. */
  private async record(deployment: Deployment): Promise<void> {
    const { repos } = this.deps;
    const now = new Date();
    if (this.first) {
      const expiresAt = new Date(now.getTime() + this.session.ttlMinutes * MINUTE_MS);
      const { session } = await repos.sessions.transition(this.session.id, 'live', {
        actor: 'worker',
        expected: this.session.status,
        patch: { previewUrl: deployment.url, serviceId: deployment.serviceId, expiresAt },
      });
      this.session = session;
    } else {
      this.session =
        (await repos.sessions.update(this.session.id, {
          previewUrl: deployment.url,
          serviceId: deployment.serviceId,
        })) ?? this.session;
    }
    this.deployingOn = undefined;
    await repos.builds.succeed(this.build.id, { deployedAt: now, finishedAt: now });
  }

  /** The person is told the app is live, with what changed on the way (repairs, another provider). */
  private async announce(result: BuildResult, repairs: number, deployment: Deployment): Promise<void> {
    const notes = [
      result.summary || 'your app is live',
      ...(repairs > 0 ? [repairedNote(repairs)] : []),
      ...(this.switchNotice ? [`${this.switchNotice}.`] : []),
    ];
    await this.emit('live', 100, notes.join('\n'), true);
    this.log.info({ url: deployment.url }, 'build live');
  }

  /** The request's pictures, downloaded and checked (none without attachments). */
  private async pictures(signal: AbortSignal) {
    const refs = this.job.data.attachments ?? [];
    if (refs.length === 0) return [];
    if (!this.deps.attachments) {
      throw new SpawnError('ERR_IMAGE_UNAVAILABLE', 'this worker cannot fetch attachments');
    }
    await this.emit('building', STAGE_PERCENT.buildingStart, 'looking at your pictures');
    return this.deps.attachments.fetch(refs, signal);
  }

  /** Files we held for the request's pictures go once the job is over for good. */
  async releasePictures(): Promise<void> {
    const refs = this.job.data.attachments ?? [];
    if (refs.length > 0) await this.deps.attachments?.release(refs);
  }

  /**
   * Stores one version of the app (the build's, or a repair's under the same key) and records
   * it on the build row with the tokens it used, which add to those already there.
   */
  private async storeVersion(result: BuildResult, signal: AbortSignal | undefined): Promise<StoredBundle> {
    const { repos, store, timeouts } = this.deps;
    if (this.stage === 'deploying') await this.emit('deploying', this.percent, 'packing the repaired app');
    else await this.emit('building', STAGE_PERCENT.storing, 'packing the bundle');
    const stageStarted = performance.now();
    const stored = await runStage(timeouts.storeMs, 'ERR_STORE_TIMEOUT', signal, async () => {
      const packed = await packBundle(result.files);
      return store.put(this.session.id, this.build.id, packed.tarball);
    });
    const files: FileEntry[] = result.files.map((f) => ({
      path: f.path,
      bytes: Buffer.byteLength(f.content),
      sha256: createHash('sha256').update(f.content).digest('hex'),
    }));
    this.observeStage('store', stageStarted);
    // Tokens of earlier failed attempts and rounds of this build are on the row already; they were billed too.
    const used = addUsage(this.usage, result.usage);
    await repos.builds.update(this.build.id, {
      status: 'deploying',
      files,
      summary: result.summary,
      model: result.model ?? null,
      promptVersion: result.promptVersion ?? null,
      ...used,
      findings: [...result.findings],
      bundleKey: stored.key,
      bundleSha256: stored.sha256,
      bundleBytes: stored.bytes,
      builtAt: new Date(),
    });
    this.usage = used;
    return stored;
  }

  /** Deploys the stored version and waits for its preview to answer 200, within the deploy stage. */
  private async deployVersion(
    provider: Provider,
    stored: StoredBundle,
    signal: AbortSignal | undefined,
  ): Promise<Deployment> {
    const { store, timeouts } = this.deps;
    await this.emit('deploying', STAGE_PERCENT.deployingStart, `starting the app on ${provider.name}`);
    const deadline = Date.now() + timeouts.deployMs;
    const limits = await this.limits();
    return runStage(timeouts.deployMs, 'ERR_DEPLOY_TIMEOUT', signal, async (stageSignal) => {
      let deployStarted = 0;
      let previewStarted = 0;
      const d = await deployStoredBuild({
        provider,
        store,
        session: this.session,
        build: { id: this.build.id, bundle: stored, origin: originOf(this.deps.builder.name) },
        limits,
        signal: stageSignal,
        onProgress: (detail) => {
          this.emit('deploying', STAGE_PERCENT.deployingStart + 5, detail).catch(() => {});
        },
        onStart: () => {
          this.deployStarted = true;
          this.deployingOn = provider.name;
          deployStarted = performance.now();
        },
        onDeployed: async () => {
          this.observeStage('deploy', deployStarted);
          previewStarted = performance.now();
          await this.emit('deploying', STAGE_PERCENT.waitingForPreview, 'waiting for the preview to answer');
        },
        // A little inside the stage's deadline, so the failure names what the preview answered.
        previewTimeoutMs: () => Math.max(1000, deadline - Date.now() - PREVIEW_WAIT_MARGIN_MS),
        previewFailed: (e) => previewFailed(e, stageSignal),
      });
      this.observeStage('preview', previewStarted);
      this.deps.metrics?.deployDuration.observe(
        { provider: provider.name },
        (performance.now() - deployStarted) / 1000,
      );
      return d;
    });
  }

  /** The session owner's plan (it decides how long the bundle URL must last). */
  private async limits(): Promise<PlanLimits | undefined> {
    const user = await this.user();
    return user ? this.deps.limits.limitsFor(user) : undefined;
  }

  private user(): Promise<UserRow | undefined> {
    this.owner ??= this.deps.repos.users.get(this.session.userId);
    return this.owner;
  }

  private observeStage(stage: 'build' | 'store' | 'deploy' | 'preview', startedAt: number): void {
    this.deps.metrics?.buildStage.observe(
      { stage, builder: this.deps.builder.name },
      (performance.now() - startedAt) / 1000,
    );
  }

  /** Counted even when zero (the offline builder), so dashboards show the series. */
  private countUsage(usage: BuildUsage, model: string): void {
    const tokens = this.deps.metrics?.llmTokens;
    if (!tokens) return;
    tokens.inc({ model, kind: 'input' }, usage.inputTokens);
    tokens.inc({ model, kind: 'output' }, usage.outputTokens);
    tokens.inc({ model, kind: 'cache_read' }, usage.cacheReadTokens);
    tokens.inc({ model, kind: 'cache_write' }, usage.cacheWriteTokens);
    this.deps.metrics?.llmCost.inc({ model }, usage.costMicroUsd / 1_000_000);
  }

  /** A failed attempt's tokens (a Claude build that broke off or ran out of budget) go on the row. */
  async recordFailedUsage(error: unknown): Promise<void> {
    const usage = usageOfFailedBuild(error);
    if (!usage) return;
    this.countUsage(usage, this.deps.builder.name);
    await this.deps.repos.builds
      .update(this.build.id, addUsage(this.usage, usage))
      .catch((e: unknown) =>
        this.log.warn({ err: String(e) }, 'could not record the usage of a failed build'),
      );
  }

  countDeployFailure(code: string): void {
    if (this.deployingOn) this.deps.metrics?.deployFailures.inc({ provider: this.deployingOn, code });
  }

  private async previousFiles(): Promise<AppFile[] | undefined> {
    const previous = await this.deps.repos.builds.latestSucceeded(this.session.id);
    if (!previous?.bundleKey) return undefined;
    return unpackBundle(await this.deps.store.get(previous.bundleKey));
  }

  /** A failed iteration may have replaced the running app: put the last good build back. */
  private async rollback(): Promise<void> {
    const { repos, store } = this.deps;
    const provider = this.provider();
    const previous = await repos.builds.latestSucceeded(this.session.id);
    if (!previous?.bundleKey || !previous.bundleSha256) return;
    const bundle = {
      key: previous.bundleKey,
      sha256: previous.bundleSha256,
      bytes: previous.bundleBytes ?? 0,
    };
    try {
      const d = await deployStoredBuild({
        provider,
        store,
        session: this.session,
        build: { id: previous.id, bundle, origin: originOf(previous.builder) },
        limits: await this.limits(),
        previewTimeoutMs: this.deps.timeouts.deployMs,
        signal: AbortSignal.timeout(this.deps.timeouts.deployMs),
      });
      await recordDeployment(repos, this.session.id, d);
      this.log.info({ restoredBuild: previous.id }, 'failed iteration rolled back to the last good build');
    } catch (e) {
      this.log.error({ err: String(e) }, 'rollback to the last good build failed');
    }
  }

  /** A permanent failure: the build (and a first build's session) ends failed; the person is told why. */
  async fail(reason: string, code: string): Promise<void> {
    const { repos } = this.deps;
    const provider = this.deps.providers.get(this.session.provider as ProviderName);
    await repos.builds.update(this.build.id, {
      status: 'failed',
      error: reason,
      errorCode: code,
      finishedAt: new Date(),
    });
    if (this.first) {
      const current = await repos.sessions.get(this.session.id);
      if (current && !isTerminal(current.status)) {
        await repos.sessions.transition(this.session.id, 'failed', { actor: 'worker', reason });
        // A half-started app must not keep running (or billing) for a failed session.
        await provider
          ?.destroy(this.session.id)
          .catch((e: unknown) =>
            this.log.warn(
              { err: String(e) },
              'could not remove the app of a failed session; the reaper will',
            ),
          );
      }
    } else if (this.deployStarted) {
      await this.rollback();
    }
    await this.emit('failed', this.percent, reason, true, reason);
  }
}
