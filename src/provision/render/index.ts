import { SpawnError } from '../../errors.js';
import { CircuitBreaker } from '../../lib/circuit-breaker.js';
import { backoffMs } from '../../lib/retry.js';
import type { Logger } from '../../log.js';
import { sleep } from '../../util/time.js';
import { type DeployOutcome, followDeployment } from '../resilience/follow.js';
import type { GuardedProvider } from '../resilience/guarded.js';
import { ProviderHttp } from '../resilience/http.js';
import {
  assertDownloadableBundleUrl,
  deployFailedError,
  FAILURE_LOG_FETCH_LINES,
  failureCause,
  runtimeVariables,
} from '../resilience/runtime.js';
import { KeyedSerializer } from '../resilience/session-lock.js';
import { Snapshot } from '../resilience/snapshot.js';
import type { Deployment, DeployRequest, ProviderName, ProviderService } from '../types.js';
import { SERVICE_NAME_PREFIX, serviceNameFor, sessionIdFromServiceName } from '../types.js';
import { cancelledError } from '../wait.js';
import { RenderApi, type RenderService } from './api.js';
import { type CreateBudget, createMemoryCreateBudget } from './create-budget.js';

export const RENDER_LABEL = 'Render';
/** Longest a deploy may take on Render unless `deployTimeoutMs` says otherwise. */
export const RENDER_DEPLOY_TIMEOUT_MS = 180_000;
/** The path Render probes before it sends traffic to a new deploy. */
export const RENDER_HEALTH_CHECK_PATH = '/';
/** Attempts to create a service when Render fails (each after looking for it by name first). */
const CREATE_ATTEMPTS = 3;

export interface RenderProviderOptions {
  /** REST base URL (RENDER_API_URL), e.g. https://api.render.com/v1. */
  readonly apiUrl: string;
  /** RENDER_API_KEY, sent as a Bearer token. */
  readonly apiKey: string;
  /** Workspace that owns the services (RENDER_OWNER_ID). */
  readonly ownerId: string;
  /** The runtime image every service runs (RUNTIME_IMAGE). */
  readonly image: string;
  readonly plan: string;
  readonly region: string;
  readonly logger: Logger;
  /** Shared count of service creations (Render allows 20 per hour); default: this process only. */
  readonly createBudget?: CreateBudget;
  /** Default {@link RENDER_DEPLOY_TIMEOUT_MS}. */
  readonly deployTimeoutMs?: number;
  /** Where a new session goes when Render refuses (PROVIDER_FALLBACK). */
  readonly fallback?: ProviderName;
  readonly breaker?: CircuitBreaker;
  readonly requestTimeoutMs?: number;
  /** RENDER_REGISTRY_CREDENTIAL_ID: the registry credential that pulls a private RUNTIME_IMAGE. */
  readonly registryCredentialId?: string;
  /** The clock of the cached service listing (tests). */
  readonly now?: () => number;
}

const SUCCEEDED = new Set(['live']);
const FAILED = new Set(['build_failed', 'update_failed', 'pre_deploy_failed', 'canceled', 'deactivated']);

function outcomeOf(status: string): DeployOutcome {
  if (SUCCEEDED.has(status)) return 'succeeded';
  if (FAILED.has(status)) return 'failed';
  return 'pending';
}

function minutes(ms: number): string {
  const n = Math.max(1, Math.ceil(ms / 60_000));
  return `${n} minute${n === 1 ? '' : 's'}`;
}

/**
 * Runs each session as a Render web service named `spawn-<session>`, from the prebuilt runtime
 * image with BUNDLE_URL / BUNDLE_SHA256 / PORT and a health check on `/`. Idempotent by name.
 * Service creations are counted against Render's hourly limit before they are sent: when the
 * budget is spent a deploy is refused with how long to wait (`ERR_PROVIDER_QUOTA`).
 *
 * @throws SpawnError `ERR_CONFIG` for missing options.
 */
export function createRenderProvider(options: RenderProviderOptions): GuardedProvider {
  for (const key of ['apiUrl', 'apiKey', 'ownerId', 'image'] as const) {
    if (!options[key]) throw new SpawnError('ERR_CONFIG', `render provider: ${key} is required`);
  }
  const logger = options.logger.child({ module: 'provision/render' });
  const breaker = options.breaker ?? new CircuitBreaker({ label: RENDER_LABEL });
  const http = new ProviderHttp({
    label: RENDER_LABEL,
    baseUrl: options.apiUrl,
    headers: { authorization: `Bearer ${options.apiKey}` },
    credentialVar: 'RENDER_API_KEY',
    breaker,
    logger,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  const api = new RenderApi({ http, ownerId: options.ownerId });
  const budget = options.createBudget ?? createMemoryCreateBudget();
  const deployTimeoutMs = options.deployTimeoutMs ?? RENDER_DEPLOY_TIMEOUT_MS;
  const locks = new KeyedSerializer();
  const listing = new Snapshot(() => api.servicesWithPrefix(SERVICE_NAME_PREFIX), undefined, options.now);

  function quotaError(retryAfterMs: number): SpawnError {
    const apps = `${budget.max} new app${budget.max === 1 ? '' : 's'}`;
    const message = `Render allows ${apps} per hour; try again in ${minutes(retryAfterMs)}.`;
    return new SpawnError('ERR_PROVIDER_QUOTA', message, { retryAfterMs, userMessage: message });
  }

  async function createService(
    name: string,
    request: DeployRequest,
    signal: AbortSignal,
  ): Promise<{ service: RenderService; deployId: string | undefined }> {
    const claim = await budget.take();
    if (!claim.allowed) throw quotaError(claim.retryAfterMs);
    request.onProgress(`${RENDER_LABEL}: creating the service`);
    try {
      const created = await api.createService(
        {
          name,
          image: options.image,
          envVars: runtimeVariables(request),
          plan: options.plan,
          region: options.region,
          healthCheckPath: RENDER_HEALTH_CHECK_PATH,
          ...(options.registryCredentialId ? { registryCredentialId: options.registryCredentialId } : {}),
        },
        signal,
      );
      logger.info({ serviceId: created.service.id, name, budgetLeft: claim.remaining }, 'service created');
      return created;
    } catch (e) {
      // Render counts creations we did not: its own 429 is the same limit, said the same way.
      if (e instanceof SpawnError && e.code === 'ERR_RATE_LIMITED')
        throw quotaError(e.retryAfterMs ?? 60_000);
      throw e;
    }
  }

  /** The session's service, created when there is none; extra copies are removed. */
  async function ensureService(
    name: string,
    request: DeployRequest,
    signal: AbortSignal,
  ): Promise<{ service: RenderService; deployId: string | undefined; created: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const found = await api.servicesNamed(name, signal);
      if (found.length > 0) {
        const [keep, ...extra] = found;
        for (const s of extra) {
          logger.warn({ serviceId: s.id, name }, 'removing a duplicate service of a session');
          await api.deleteService(s.id, signal);
        }
        return { service: keep!, deployId: undefined, created: false };
      }
      try {
        return { ...(await createService(name, request, signal)), created: true };
      } catch (e) {
        // The create may or may not have happened: look for it by name before trying again.
        if (!(e instanceof SpawnError) || e.code !== 'ERR_PROVIDER_UNAVAILABLE' || attempt >= CREATE_ATTEMPTS)
          throw e;
        logger.warn(
          { err: e.message, attempt },
          'creating the service failed; looking for it before trying again',
        );
        await sleep(backoffMs(attempt), signal).catch(() => {
          throw cancelledError(signal, 'creating the Render service');
        });
      }
    }
  }

  /** Adopts the current deploy when it already runs this bundle, else sets the variables and deploys. */
  async function nextDeploy(
    service: RenderService,
    request: DeployRequest,
    signal: AbortSignal,
  ): Promise<string> {
    const [current, latest] = await Promise.all([
      api.envVars(service.id, signal),
      api.latestDeploy(service.id, signal),
    ]);
    if (latest && current.BUNDLE_SHA256 === request.bundle.sha256 && outcomeOf(latest.status) !== 'failed') {
      request.onProgress(`${RENDER_LABEL}: the service already runs this version; following its deploy`);
      return latest.id;
    }
    request.onProgress(`${RENDER_LABEL}: deploying the new version`);
    await api.replaceEnvVars(service.id, runtimeVariables(request), signal);
    const started = await api.triggerDeploy(service.id, latest?.id, signal);
    if (started.queued) {
      logger.info({ serviceId: service.id, deployId: started.id }, 'deploy queued behind one in progress');
      request.onProgress(`${RENDER_LABEL}: deploy queued behind the one in progress`);
    }
    return started.id;
  }

  async function deployLocked(request: DeployRequest): Promise<Deployment> {
    assertDownloadableBundleUrl(RENDER_LABEL, request.bundleUrl);
    const signal = request.signal;
    const name = serviceNameFor(request.sessionId);
    request.onProgress(`${RENDER_LABEL}: looking for the app's service`);
    const found = await ensureService(name, request, signal);
    const service = found.service;
    const deployId =
      found.created && found.deployId ? found.deployId : await nextDeploy(service, request, signal);
    await followDeployment({
      label: RENDER_LABEL,
      read: async (s) => (await api.deploy(service.id, deployId, s)).status,
      outcome: outcomeOf,
      onStatus: (status) => request.onProgress(`${RENDER_LABEL}: deploy ${status.replaceAll('_', ' ')}`),
      failure: async (status, s) => {
        const lines = await api.logs(service.id, FAILURE_LOG_FETCH_LINES, s).catch(() => []);
        logger.warn(
          {
            provider: 'render',
            sessionId: request.sessionId,
            serviceId: service.id,
            deployId,
            status,
            cause: failureCause(lines),
          },
          'deploy failed',
        );
        return deployFailedError(RENDER_LABEL, status, lines);
      },
      signal,
      timeoutMs: deployTimeoutMs,
    });
    const url = service.serviceDetails?.url ?? (await api.service(service.id, signal))?.serviceDetails?.url;
    if (!url) throw new SpawnError('ERR_PROVIDER_UNAVAILABLE', 'Render: the service has no URL');
    logger.info({ sessionId: request.sessionId, serviceId: service.id, deployId }, 'deploy live');
    return { serviceId: service.id, url };
  }

  return {
    name: 'render',
    label: RENDER_LABEL,
    ...(options.fallback ? { fallback: options.fallback } : {}),

    async refusal(sessionId: string): Promise<SpawnError | undefined> {
      if (breaker.isOpen()) return breaker.openError();
      const left = await budget.peek();
      if (left.remaining > 0) return undefined;
      // A session whose service exists (a retried deploy) needs no new creation.
      const existing = await api.servicesNamed(serviceNameFor(sessionId)).catch(() => []);
      return existing.length > 0 ? undefined : quotaError(left.retryAfterMs);
    },

    deploy(request: DeployRequest): Promise<Deployment> {
      return locks.run(request.sessionId, () => deployLocked(request).finally(() => listing.invalidate()));
    },

    /** From the (briefly cached) listing: Render restarts crashed instances itself; suspended ones do not run. */
    async status(sessionId: string): Promise<'running' | 'stopped' | 'missing'> {
      const name = serviceNameFor(sessionId);
      const service = (await listing.get()).find((s) => s.name === name);
      if (!service) return 'missing';
      return service.suspended === 'suspended' ? 'stopped' : 'running';
    },

    destroy(sessionId: string): Promise<void> {
      return locks.run(sessionId, async () => {
        try {
          for (const service of await api.servicesNamed(serviceNameFor(sessionId))) {
            await api.deleteService(service.id);
            logger.info({ sessionId, serviceId: service.id }, 'service deleted');
          }
        } finally {
          listing.invalidate();
        }
      });
    },

    async list(): Promise<ProviderService[]> {
      const out: ProviderService[] = [];
      for (const s of await listing.get()) {
        const sessionId = sessionIdFromServiceName(s.name);
        if (!sessionId) continue;
        out.push({
          serviceId: s.id,
          sessionId,
          ...(s.serviceDetails?.url ? { url: s.serviceDetails.url } : {}),
          running: s.suspended !== 'suspended',
        });
      }
      return out;
    },
  };
}
