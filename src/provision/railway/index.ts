import { SpawnError } from '../../errors.js';
import { CircuitBreaker } from '../../lib/circuit-breaker.js';
import { backoffMs } from '../../lib/retry.js';
import type { Logger } from '../../log.js';
import { sleep } from '../../util/time.js';
import { type DeployOutcome, followDeployment, pollDelayMs } from '../resilience/follow.js';
import type { GuardedProvider } from '../resilience/guarded.js';
import { ProviderHttp } from '../resilience/http.js';
import {
  assertDownloadableBundleUrl,
  deployFailedError,
  FAILURE_LOG_FETCH_LINES,
  failureCause,
  RUNTIME_PORT,
  runtimeVariables,
} from '../resilience/runtime.js';
import { KeyedSerializer } from '../resilience/session-lock.js';
import { Snapshot } from '../resilience/snapshot.js';
import type { Deployment, DeployRequest, ProviderName, ProviderService } from '../types.js';
import { SERVICE_NAME_PREFIX, serviceNameFor, sessionIdFromServiceName } from '../types.js';
import { cancelledError } from '../wait.js';
import {
  RailwayApi,
  type RailwayService,
  type RailwayTokenType,
  type RegistryCredentials,
  railwayAuthHeaders,
} from './api.js';

export const RAILWAY_LABEL = 'Railway';
/** Longest a deploy may take on Railway unless `deployTimeoutMs` says otherwise. */
export const RAILWAY_DEPLOY_TIMEOUT_MS = 180_000;
/** How long a new service may take to show the deployment Railway starts for it by itself. */
export const RAILWAY_FIRST_DEPLOYMENT_WAIT_MS = 10_000;
/** Attempts to create a service when Railway fails (each after looking for it by name first). */
const CREATE_ATTEMPTS = 3;

export interface RailwayProviderOptions {
  /** The GraphQL endpoint (RAILWAY_API_URL). */
  readonly apiUrl: string;
  /** RAILWAY_API_TOKEN: an account or workspace token (Bearer) or a project token. */
  readonly token: string;
  /** RAILWAY_TOKEN_TYPE; default `account`. */
  readonly tokenType?: RailwayTokenType;
  /** Login for a private RUNTIME_IMAGE, sent when a service is created. */
  readonly registryCredentials?: RegistryCredentials;
  readonly projectId: string;
  readonly environmentId: string;
  /** The runtime image every service runs (RUNTIME_IMAGE). */
  readonly image: string;
  readonly logger: Logger;
  /** Default {@link RAILWAY_DEPLOY_TIMEOUT_MS}. */
  readonly deployTimeoutMs?: number;
  /** Where a new session goes when Railway refuses (PROVIDER_FALLBACK). */
  readonly fallback?: ProviderName;
  /** Default: a breaker with the standard thresholds. */
  readonly breaker?: CircuitBreaker;
  /** Per-request timeout; default PROVIDER_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /** The clock of the cached service listing (tests). */
  readonly now?: () => number;
}

const SUCCEEDED = new Set(['SUCCESS', 'SLEEPING']);
// REMOVING: the deployment is being taken down (replaced or deleted); it will not come up.
const FAILED = new Set(['FAILED', 'CRASHED', 'REMOVING', 'REMOVED', 'SKIPPED']);

function outcomeOf(status: string): DeployOutcome {
  if (SUCCEEDED.has(status)) return 'succeeded';
  if (FAILED.has(status)) return 'failed';
  return 'pending';
}

/**
 * A service domain as a URL. Railway's are `*.up.railway.app` behind HTTPS; a loopback
 * `host:port` (what a local stand-in for Railway hands out) is plain HTTP.
 */
export function previewUrlOf(domain: string): string {
  return /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(domain) ? `http://${domain}` : `https://${domain}`;
}

function ourServices(services: readonly RailwayService[], name: string): RailwayService[] {
  return services.filter((s) => s.name === name);
}

/**
 * Runs each session as a Railway service named `spawn-<session>` in one project and
 * environment, from the prebuilt runtime image with BUNDLE_URL / BUNDLE_SHA256 / PORT.
 * Idempotent by name: a retried deploy adopts the service (and, when it already runs this
 * bundle, its deployment) instead of creating another.
 *
 * @throws SpawnError `ERR_CONFIG` for missing options.
 */
export function createRailwayProvider(options: RailwayProviderOptions): GuardedProvider {
  for (const key of ['apiUrl', 'token', 'projectId', 'environmentId', 'image'] as const) {
    if (!options[key]) throw new SpawnError('ERR_CONFIG', `railway provider: ${key} is required`);
  }
  const logger = options.logger.child({ module: 'provision/railway' });
  const breaker = options.breaker ?? new CircuitBreaker({ label: RAILWAY_LABEL });
  const http = new ProviderHttp({
    label: RAILWAY_LABEL,
    baseUrl: options.apiUrl,
    headers: railwayAuthHeaders(options.token, options.tokenType),
    credentialVar: 'RAILWAY_API_TOKEN',
    breaker,
    logger,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  const api = new RailwayApi({
    http,
    projectId: options.projectId,
    environmentId: options.environmentId,
    ...(options.tokenType ? { tokenType: options.tokenType } : {}),
  });
  const deployTimeoutMs = options.deployTimeoutMs ?? RAILWAY_DEPLOY_TIMEOUT_MS;
  const locks = new KeyedSerializer();
  const listing = new Snapshot(() => api.services(), undefined, options.now);

  /** The session's service, creating it when there is none; extra copies are removed. */
  async function ensureService(
    name: string,
    variables: Record<string, string>,
    request: DeployRequest,
    signal: AbortSignal,
  ): Promise<{ service: RailwayService; created: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const found = ourServices(await api.services(signal), name);
      if (found.length > 0) {
        const [keep, ...extra] = [...found].sort(
          (a, b) =>
            Number(b.latestDeployment?.status === 'SUCCESS') -
            Number(a.latestDeployment?.status === 'SUCCESS'),
        );
        for (const s of extra) {
          logger.warn({ serviceId: s.id, name }, 'removing a duplicate service of a session');
          await api.deleteService(s.id, signal);
        }
        return { service: keep!, created: false };
      }
      request.onProgress(`${RAILWAY_LABEL}: creating the service`);
      try {
        const created = await api.createService(
          name,
          options.image,
          variables,
          options.registryCredentials,
          signal,
        );
        logger.info({ serviceId: created.id, name }, 'service created');
        return {
          service: { id: created.id, name: created.name, latestDeployment: undefined, domain: undefined },
          created: true,
        };
      } catch (e) {
        // The create may or may not have happened: look for it by name before trying again.
        if (!(e instanceof SpawnError) || e.code !== 'ERR_PROVIDER_UNAVAILABLE' || attempt >= CREATE_ATTEMPTS)
          throw e;
        logger.warn(
          { err: e.message, attempt },
          'creating the service failed; looking for it before trying again',
        );
        await sleep(backoffMs(attempt), signal).catch(() => {
          throw cancelledError(signal, 'creating the Railway service');
        });
      }
    }
  }

  /** The deployment Railway starts by itself for a new image service (or one we start). */
  async function firstDeployment(serviceId: string, signal: AbortSignal): Promise<string> {
    const deadline = Date.now() + RAILWAY_FIRST_DEPLOYMENT_WAIT_MS;
    for (let poll = 1; Date.now() < deadline; poll++) {
      const latest = await api.latestDeployment(serviceId, signal);
      if (latest) return latest.id;
      await sleep(pollDelayMs(poll), signal).catch(() => {
        throw cancelledError(signal, 'waiting for the Railway deployment');
      });
    }
    return api.deploy(serviceId, signal);
  }

  /** Adopts the running deployment when it already runs this bundle, else starts a new one. */
  async function nextDeployment(
    service: RailwayService,
    variables: Record<string, string>,
    request: DeployRequest,
    signal: AbortSignal,
  ): Promise<string> {
    const current = await api.variables(service.id, signal);
    const latest = service.latestDeployment ?? (await api.latestDeployment(service.id, signal));
    // Always refresh the variables: a restart of the container downloads from the newest URL.
    await api.upsertVariables(service.id, variables, signal);
    if (latest && current.BUNDLE_SHA256 === request.bundle.sha256 && outcomeOf(latest.status) !== 'failed') {
      request.onProgress(`${RAILWAY_LABEL}: the service already runs this version; following its deployment`);
      return latest.id;
    }
    request.onProgress(`${RAILWAY_LABEL}: deploying the new version`);
    return api.deploy(service.id, signal);
  }

  async function ensureDomain(service: RailwayService, signal: AbortSignal): Promise<string> {
    const existing = service.domain ?? (await api.domains(service.id, signal))[0];
    return existing ?? api.createDomain(service.id, RUNTIME_PORT, signal);
  }

  async function deployLocked(request: DeployRequest): Promise<Deployment> {
    assertDownloadableBundleUrl(RAILWAY_LABEL, request.bundleUrl);
    const signal = request.signal;
    const name = serviceNameFor(request.sessionId);
    const variables = runtimeVariables(request);
    request.onProgress(`${RAILWAY_LABEL}: looking for the app's service`);
    const { service, created } = await ensureService(name, variables, request, signal);
    const deploymentId = created
      ? await firstDeployment(service.id, signal)
      : await nextDeployment(service, variables, request, signal);
    const domain = await ensureDomain(service, signal);
    await followDeployment({
      label: RAILWAY_LABEL,
      read: async (s) => (await api.deployment(deploymentId, s)).status,
      outcome: outcomeOf,
      onStatus: (status) => request.onProgress(`${RAILWAY_LABEL}: deployment ${status.toLowerCase()}`),
      failure: async (status, s) => {
        const lines = await api.deploymentLogs(deploymentId, FAILURE_LOG_FETCH_LINES, s).catch(() => []);
        logger.warn(
          {
            provider: 'railway',
            sessionId: request.sessionId,
            serviceId: service.id,
            deploymentId,
            status,
            cause: failureCause(lines),
          },
          'deployment failed',
        );
        return deployFailedError(RAILWAY_LABEL, status, lines);
      },
      signal,
      timeoutMs: deployTimeoutMs,
    });
    logger.info(
      { sessionId: request.sessionId, serviceId: service.id, deploymentId },
      'deployment succeeded',
    );
    return { serviceId: service.id, url: previewUrlOf(domain) };
  }

  async function destroyLocked(sessionId: string): Promise<void> {
    const name = serviceNameFor(sessionId);
    for (const service of ourServices(await api.services(), name)) {
      await api.deleteService(service.id);
      logger.info({ sessionId, serviceId: service.id }, 'service deleted');
    }
  }

  return {
    name: 'railway',
    label: RAILWAY_LABEL,
    ...(options.fallback ? { fallback: options.fallback } : {}),

    async refusal(): Promise<SpawnError | undefined> {
      return breaker.isOpen() ? breaker.openError() : undefined;
    },

    deploy(request: DeployRequest): Promise<Deployment> {
      return locks.run(request.sessionId, () => deployLocked(request).finally(() => listing.invalidate()));
    },

    async status(sessionId: string): Promise<'running' | 'stopped' | 'missing'> {
      const [service] = ourServices(await listing.get(), serviceNameFor(sessionId));
      if (!service) return 'missing';
      const status = service.latestDeployment?.status;
      return status !== undefined && outcomeOf(status) !== 'failed' ? 'running' : 'stopped';
    },

    destroy(sessionId: string): Promise<void> {
      return locks.run(sessionId, () => destroyLocked(sessionId).finally(() => listing.invalidate()));
    },

    async list(): Promise<ProviderService[]> {
      const out: ProviderService[] = [];
      for (const s of await listing.get()) {
        if (!s.name.startsWith(SERVICE_NAME_PREFIX)) continue;
        const sessionId = sessionIdFromServiceName(s.name);
        if (!sessionId) continue;
        const status = s.latestDeployment?.status;
        out.push({
          serviceId: s.id,
          sessionId,
          ...(s.domain ? { url: previewUrlOf(s.domain) } : {}),
          running: status !== undefined && SUCCEEDED.has(status),
        });
      }
      return out;
    },
  };
}
