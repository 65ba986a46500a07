import { createHash } from 'node:crypto';
import { type Job, UnrecoverableError } from 'bullmq';
import { type AppFile, type Builder, type BuildUsage, usageOfFailedBuild } from '../build/types.js';
import { canTransition, isTerminal, type SessionStatus } from '../core/status.js';
import type { Stage } from '../core/view.js';
import type { BuildRow, FileEntry, Repos, SessionRow } from '../db/repos/index.js';
import { SpawnError, toSpawnError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Notifier } from '../notify/notifier.js';
import { STAGE_PERCENT } from '../notify/progress.js';
import { chooseAvailableProvider } from '../provision/resilience/guarded.js';
import type { Provider, ProviderName } from '../provision/types.js';
import { waitForHttpOk } from '../provision/wait.js';
import type { SpawnJobData } from '../queue/jobs.js';
import type { LimitsPolicy } from '../spawn/limits.js';
import { packBundle, unpackBundle } from '../storage/bundle.js';
import type { BundleStore } from '../storage/types.js';
import { MINUTE_MS } from '../util/time.js';
import { runStage } from './stage.js';

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
}

/** Raised when the session ended (stopped, expired) while its build was running. */
class SessionEnded extends Error {}

/**
 * One build of a session: build → store → deploy → wait for 200 → live. Safe to run again
 * from the start (a retried or stalled job): every step is idempotent by session and build.
 * Transient failures are retried by BullMQ with backoff; permanent ones end the build (and a
 * first build's session) `failed` with a reason the person sees.
 */
export function createSpawnProcessor(deps: SpawnProcessorDeps) {
  return async (job: Job<SpawnJobData>, _token?: string, signal?: AbortSignal): Promise<string> => {
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
    try {
      await run.execute(signal);
      outcome('succeeded');
      return 'succeeded';
    } catch (e) {
      await run.recordFailedUsage(e);
      if (e instanceof SessionEnded) {
        log.info('session ended during its build; stopped working on it');
        outcome('cancelled');
        return 'cancelled';
      }
      const err = toSpawnError(e);
      run.countDeployFailure(err.code);
      const attempts = job.opts.attempts ?? 1;
      const lastAttempt = job.attemptsMade + 1 >= attempts;
      if (err.retryable && !lastAttempt) {
        log.warn(
          { err: err.message, code: err.code, attempt: job.attemptsMade + 1 },
          'build attempt failed; will retry',
        );
        await run.emit(run.stage, run.percent, 'a temporary problem; trying again shortly');
        throw err;
      }
      log.error({ err: err.message, code: err.code, cause: describeCause(err) }, 'build failed');
      await run.fail(err.userMessage, err.code);
      outcome('failed');
      throw new UnrecoverableError(`${err.code}: ${err.message}`);
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

function describeCause(e: Error): string | undefined {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : cause === undefined ? undefined : String(cause);
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

  constructor(
    private readonly deps: SpawnProcessorDeps,
    private readonly job: Job<SpawnJobData>,
    private readonly build: BuildRow,
    private session: SessionRow,
    private readonly log: Logger,
  ) {
    this.first = build.iteration === 1;
  }

  async emit(stage: Stage, percent: number, detail: string, final = false, reason?: string): Promise<void> {
    this.stage = stage;
    this.percent = Math.max(this.percent, percent);
    await this.deps.notifier.publish(
      {
        sessionId: this.session.id,
        buildId: this.build.id,
        iteration: this.build.iteration,
        stage,
        percent: final ? percent : this.percent,
        detail,
        final,
        ...(reason ? { reason } : {}),
        at: Date.now(),
      },
      this.job.data.correlationId,
    );
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
    const user = await this.deps.repos.users.get(this.session.userId);
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

  async execute(signal: AbortSignal | undefined): Promise<void> {
    const { repos, builder, store, timeouts } = this.deps;
    let provider = await this.availableProvider();
    const buildId = this.build.id;
    await repos.builds.update(buildId, {
      status: 'building',
      attempts: this.job.attemptsMade + 1,
      startedAt: this.build.startedAt ?? new Date(),
      builder: builder.name,
    });
    await this.advance('building');
    await this.emit('building', STAGE_PERCENT.buildingStart, `starting ${builder.label}`);

    const previousFiles = this.first ? undefined : await this.previousFiles();
    const user = await repos.users.get(this.session.userId);
    const limits = user ? this.deps.limits.limitsFor(user) : undefined;
    const span = STAGE_PERCENT.buildingEnd - STAGE_PERCENT.buildingStart;
    let lastEmit = Promise.resolve();
    let stageStarted = performance.now();
    const result = await runStage(timeouts.buildMs, 'ERR_BUILD_TIMEOUT', signal, (stageSignal) =>
      builder.build({
        sessionId: this.session.id,
        buildId,
        prompt: this.build.prompt,
        originalPrompt: this.session.prompt,
        ...(previousFiles ? { previousFiles } : {}),
        ...(limits?.model ? { model: limits.model } : {}),
        budget: {
          maxOutputTokens: limits?.maxOutputTokens ?? 32_000,
          wallTimeMs: Math.min(limits?.buildWallTimeMs ?? timeouts.buildMs, timeouts.buildMs),
        },
        onProgress: (p) => {
          lastEmit = lastEmit
            .then(() =>
              this.emit('building', STAGE_PERCENT.buildingStart + (p.percent / 100) * span, p.detail),
            )
            .catch(() => {});
        },
        signal: stageSignal,
      }),
    );
    await lastEmit;
    this.observeStage('build', stageStarted);
    this.countUsage(result.usage, result.model ?? builder.name);
    await this.ensureActive();

    await this.emit('building', STAGE_PERCENT.storing, 'packing the bundle');
    stageStarted = performance.now();
    const stored = await runStage(timeouts.storeMs, 'ERR_STORE_TIMEOUT', signal, async () => {
      const packed = await packBundle(result.files);
      return store.put(this.session.id, buildId, packed.tarball);
    });
    const files: FileEntry[] = result.files.map((f) => ({
      path: f.path,
      bytes: Buffer.byteLength(f.content),
      sha256: createHash('sha256').update(f.content).digest('hex'),
    }));
    this.observeStage('store', stageStarted);
    // Tokens of earlier failed attempts of this build are on the row already; they were billed too.
    const used = addUsage(await this.usageSoFar(), result.usage);
    await repos.builds.update(buildId, {
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
    if (this.first || result.title) {
      this.session =
        (await repos.sessions.update(this.session.id, { title: result.title.slice(0, 120) })) ?? this.session;
    }

    await this.advance('deploying');
    provider = await this.availableProvider();
    await this.emit('deploying', STAGE_PERCENT.deployingStart, `starting the app on ${provider.name}`);
    const deadline = Date.now() + timeouts.deployMs;
    const deployment = await runStage(
      timeouts.deployMs,
      'ERR_DEPLOY_TIMEOUT',
      signal,
      async (stageSignal) => {
        const bundleUrl = await store.signedUrl(stored.key, Math.max(3600, this.session.ttlMinutes * 60 * 2));
        this.deployStarted = true;
        this.deployingOn = provider.name;
        const deployStarted = performance.now();
        const d = await provider.deploy({
          sessionId: this.session.id,
          buildId,
          bundle: stored,
          bundleUrl,
          fetchBundle: () => store.get(stored.key),
          ...(this.session.expiresAt ? { expiresAt: this.session.expiresAt } : {}),
          onProgress: (detail) => {
            this.emit('deploying', STAGE_PERCENT.deployingStart + 5, detail).catch(() => {});
          },
          signal: stageSignal,
        });
        this.observeStage('deploy', deployStarted);
        const previewStarted = performance.now();
        await this.emit('deploying', STAGE_PERCENT.waitingForPreview, 'waiting for the preview to answer');
        await waitForHttpOk(d.url, { timeoutMs: Math.max(1000, deadline - Date.now()), signal: stageSignal });
        this.observeStage('preview', previewStarted);
        this.deps.metrics?.deployDuration.observe(
          { provider: provider.name },
          (performance.now() - deployStarted) / 1000,
        );
        return d;
      },
    );

    try {
      await this.ensureActive();
    } catch (e) {
      // Stopped while deploying: the app must not outlive its session.
      await provider.destroy(this.session.id).catch(() => {});
      throw e;
    }
    const now = new Date();
    if (this.first) {
      const expiresAt = new Date(now.getTime() + this.session.ttlMinutes * MINUTE_MS);
      const { session } = await repos.sessions.transition(this.session.id, 'live', {
        actor: 'worker',
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
    await repos.builds.update(buildId, { status: 'succeeded', deployedAt: now, finishedAt: now });
    const summary = result.summary || 'your app is live';
    await this.emit('live', 100, this.switchNotice ? `${summary}\n${this.switchNotice}.` : summary, true);
    this.log.info({ url: deployment.url }, 'build live');
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

  private async usageSoFar(): Promise<BuildUsage> {
    const row = await this.deps.repos.builds.get(this.build.id);
    return {
      inputTokens: row?.inputTokens ?? 0,
      outputTokens: row?.outputTokens ?? 0,
      cacheReadTokens: row?.cacheReadTokens ?? 0,
      cacheWriteTokens: row?.cacheWriteTokens ?? 0,
      costMicroUsd: row?.costMicroUsd ?? 0,
    };
  }

  /** A failed attempt's tokens (a Claude build that broke off or ran out of budget) go on the row. */
  async recordFailedUsage(error: unknown): Promise<void> {
    const usage = usageOfFailedBuild(error);
    if (!usage) return;
    this.countUsage(usage, this.deps.builder.name);
    await this.deps.repos.builds
      .update(this.build.id, addUsage(await this.usageSoFar(), usage))
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
      const d = await provider.deploy({
        sessionId: this.session.id,
        buildId: previous.id,
        bundle,
        bundleUrl: await store.signedUrl(bundle.key, Math.max(3600, this.session.ttlMinutes * 60 * 2)),
        fetchBundle: () => store.get(bundle.key),
        onProgress: () => {},
        signal: AbortSignal.timeout(this.deps.timeouts.deployMs),
      });
      await waitForHttpOk(d.url, { timeoutMs: this.deps.timeouts.deployMs });
      await repos.sessions.update(this.session.id, { previewUrl: d.url, serviceId: d.serviceId });
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
