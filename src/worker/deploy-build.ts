/**
 * One way to put a stored build on a provider: sign its bundle URL for as long as the session
 * may live, deploy, wait for the preview to answer 200. Used by a new build, by the rollback
 * after a failed change and by the reaper's redeploy, so the three cannot drift apart.
 */
import type { Repos, SessionRow } from '../db/repos/index.js';
import type { CodeOrigin, Deployment, Provider } from '../provision/types.js';
import { waitForHttpOk } from '../provision/wait.js';
import type { PlanLimits } from '../spawn/limits.js';
import type { BundleStore, StoredBundle } from '../storage/types.js';
import { HOUR_MS, MINUTE_MS } from '../util/time.js';

/**
 * How long a bundle URL outlives the session's latest possible end: a cloud app restarting in
 * its last minutes (or a clock a little off) still downloads its bundle.
 */
export const BUNDLE_URL_MARGIN_MS = HOUR_MS;

/** The shortest life of a bundle URL, whatever the session: a deploy itself may take a while. */
export const BUNDLE_URL_MIN_MS = HOUR_MS;

/**
 * When the session may end at the latest: its plan's longest lifetime from its creation (every
 * extension included), or its current end if that is later (a paid extension past the plan).
 */
export function latestPossibleEnd(session: SessionRow, limits: PlanLimits | undefined, now: number): number {
  const current = session.expiresAt?.getTime() ?? now + session.ttlMinutes * MINUTE_MS;
  const cap = limits ? session.createdAt.getTime() + limits.maxSessionMinutes * MINUTE_MS : 0;
  return Math.max(current, cap);
}

/**
 * Seconds a bundle URL must stay valid: a cloud provider fetches the bundle again whenever it
 * restarts the app, at any time until the session ends.
 */
export function bundleUrlSeconds(session: SessionRow, limits: PlanLimits | undefined, now: number): number {
  const until = latestPossibleEnd(session, limits, now) + BUNDLE_URL_MARGIN_MS;
  return Math.ceil(Math.max(BUNDLE_URL_MIN_MS, until - now) / 1000);
}

/** A build whose bundle is in the store. */
export interface StoredBuild {
  readonly id: string;
  readonly bundle: StoredBundle;
  readonly origin: CodeOrigin;
}

export interface DeployBuildRequest {
  readonly provider: Provider;
  readonly store: BundleStore;
  readonly session: SessionRow;
  readonly build: StoredBuild;
  /** The session owner's plan; without it the URL lasts until the session's current end. */
  readonly limits: PlanLimits | undefined;
  /** How long the preview may take to answer 200, asked once the provider accepted the deploy. */
  readonly previewTimeoutMs: number | (() => number);
  readonly signal: AbortSignal;
  readonly onProgress?: (detail: string) => void;
  /** Just before the provider is asked: from here the running app may be replaced. */
  readonly onStart?: () => void;
  /** Once the provider took the deploy, before the wait for 200 (progress, metrics). */
  readonly onDeployed?: (deployment: Deployment) => Promise<void> | void;
  /** What a preview that never answered 200 throws (a new build makes it a repair turn). */
  readonly previewFailed?: (error: unknown) => unknown;
  readonly now?: () => number;
}

/** Deploys a stored build and waits until its preview answers 200. */
export async function deployStoredBuild(request: DeployBuildRequest): Promise<Deployment> {
  const { provider, store, session, build, signal } = request;
  const now = (request.now ?? Date.now)();
  const bundleUrl = await store.signedUrl(build.bundle.key, bundleUrlSeconds(session, request.limits, now));
  request.onStart?.();
  const deployment = await provider.deploy({
    sessionId: session.id,
    buildId: build.id,
    bundle: build.bundle,
    bundleUrl,
    fetchBundle: () => store.get(build.bundle.key),
    ...(session.expiresAt ? { expiresAt: session.expiresAt } : {}),
    origin: build.origin,
    onProgress: request.onProgress ?? (() => {}),
    signal,
  });
  await request.onDeployed?.(deployment);
  const timeoutMs =
    typeof request.previewTimeoutMs === 'function' ? request.previewTimeoutMs() : request.previewTimeoutMs;
  try {
    await waitForHttpOk(deployment.url, { timeoutMs, signal });
  } catch (e) {
    throw request.previewFailed ? request.previewFailed(e) : e;
  }
  return deployment;
}

/** Records where the session's app answers now. */
export async function recordDeployment(
  repos: Repos,
  sessionId: string,
  deployment: Deployment,
): Promise<SessionRow | undefined> {
  return repos.sessions.update(sessionId, { previewUrl: deployment.url, serviceId: deployment.serviceId });
}
