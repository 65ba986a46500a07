import { SpawnError } from '../../errors.js';
import type { CircuitBreaker } from '../../lib/circuit-breaker.js';
import { backoffMs, retry } from '../../lib/retry.js';
import type { Logger } from '../../log.js';
import { sleep } from '../../util/time.js';
import { type DeployOutcome, followDeployment, pollDelayMs } from '../resilience/follow.js';
import type { GuardedProvider } from '../resilience/guarded.js';
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
import type { CloudApi, CloudService, CloudStatusWords } from './api.js';

/** Longest one deployment may take unless `deployTimeoutMs` says otherwise. */
export const CLOUD_DEPLOY_TIMEOUT_MS = 180_000;
/** How long a new service may take to show the deployment its cloud starts by itself. */
export const CLOUD_FIRST_DEPLOYMENT_WAIT_MS = 10_000;
/** Attempts to create a service when the cloud fails (each after looking for it by name first). */
const CREATE_ATTEMPTS = 3;

export interface CloudProviderOptions {
  readonly name: ProviderName;
  readonly logger: Logger;
  /** The breaker of the API's HTTP client: while it is open, deploys are refused up front. */
  readonly breaker: CircuitBreaker;
  /** Default {@link CLOUD_DEPLOY_TIMEOUT_MS}. */
  readonly deployTimeoutMs?: number;
  /** Where a new session goes when this cloud refuses (PROVIDER_FALLBACK). */
  readonly fallback?: ProviderName;
  /** The clock of the cached service listing (tests). */
  readonly now?: () => number;
}

/** Where a deployment with this status word stands. */
export function deploymentOutcome(words: CloudStatusWords, status: string): DeployOutcome {
  if (words.live.includes(status)) return 'succeeded';
  if (words.failed.includes(status)) return 'failed';
  return 'pending';
}

/**
 * Whether a service in this state runs. A deployment still on its way counts as running, so
 * the reaper does not redeploy an app that is only being deployed.
 */
export function serviceState(words: CloudStatusWords, status: string | undefined): 'running' | 'stopped' {
  if (status === undefined || words.failed.includes(status) || words.stopped?.includes(status))
    return 'stopped';
  return 'running';
}

/** "update_in_progress" -> "update in progress", "SUCCESS" -> "success": for progress lines. */
function spoken(status: string): string {
  return status.toLowerCase().replaceAll('_', ' ');
}

/**
 * A cloud {@link Provider} from the cloud's {@link CloudApi}: each session is a service named
 * `spawn-<session>` running the runtime image with BUNDLE_URL / BUNDLE_SHA256 / PORT.
 * Idempotent by name: a retried deploy adopts the service (and, when it already runs this
 * bundle, its deployment) instead of creating another; extra copies are removed. A deploy
 * follows the deployment until the cloud says it is live, failed (with its log) or the
 * timeout passes. Deploys and destroys of one session never interleave in this process.
 */
export function createCloudProvider(api: CloudApi, options: CloudProviderOptions): GuardedProvider {
  const { label, statusWords: words } = api;
  const logger = options.logger.child({ module: `provision/${options.name}` });
  const deployTimeoutMs = options.deployTimeoutMs ?? CLOUD_DEPLOY_TIMEOUT_MS;
  const locks = new KeyedSerializer();
  const listing = new Snapshot(() => api.listServices(SERVICE_NAME_PREFIX), undefined, options.now);
  const outcome = (status: string) => deploymentOutcome(words, status);

  /** The session's service, created when there is none; extra copies are removed. */
  async function ensureService(
    name: string,
    variables: Record<string, string>,
    request: DeployRequest,
  ): Promise<{ service: CloudService; created: boolean; deploymentId?: string }> {
    const signal = request.signal;
    // Only a failed create is tried again (a failed lookup, e.g. an open circuit, is final), and
    // each attempt looks for the service by name first: a create that failed may still have happened.
    let creating = false;
    return retry(
      async () => {
        creating = false;
        const found = await api.servicesNamed(name, signal);
        if (found.length > 0) {
          const live = (s: CloudService) =>
            Number(s.status !== undefined && outcome(s.status) === 'succeeded');
          const [keep, ...extra] = [...found].sort((a, b) => live(b) - live(a));
          for (const s of extra) {
            logger.warn({ serviceId: s.id, name }, 'removing a duplicate service of a session');
            await api.deleteService(s.id, signal);
          }
          return { service: keep!, created: false };
        }
        request.onProgress(`${label}: creating the service`);
        creating = true;
        const created = await api.createService(name, variables, signal);
        logger.info({ serviceId: created.service.id, name }, 'service created');
        return { ...created, created: true };
      },
      {
        attempts: CREATE_ATTEMPTS,
        signal,
        delay: (e, attempt) =>
          creating && e instanceof SpawnError && e.code === 'ERR_PROVIDER_UNAVAILABLE'
            ? backoffMs(attempt)
            : undefined,
        onRetry: ({ error, attempt }) =>
          logger.warn(
            { err: error instanceof Error ? error.message : String(error), attempt },
            'creating the service failed; looking for it before trying again',
          ),
        sleep: (ms, sig) =>
          sleep(ms, sig).catch(() => {
            throw cancelledError(signal, `creating the ${label} service`);
          }),
      },
    );
  }

  /** The deployment the cloud starts by itself for a new service, or one we start. */
  async function firstDeployment(serviceId: string, signal: AbortSignal): Promise<string> {
    const deadline = Date.now() + CLOUD_FIRST_DEPLOYMENT_WAIT_MS;
    for (let poll = 1; Date.now() < deadline; poll++) {
      const latest = await api.latestDeployment(serviceId, signal);
      if (latest) return latest.id;
      await sleep(pollDelayMs(poll), signal).catch(() => {
        throw cancelledError(signal, `waiting for the ${label} deployment`);
      });
    }
    return (await api.startDeployment(serviceId, undefined, signal)).id;
  }

  /** Adopts the deployment when it already runs (or brings up) this bundle, else starts a new one. */
  async function nextDeployment(
    service: CloudService,
    variables: Record<string, string>,
    request: DeployRequest,
  ): Promise<string> {
    const signal = request.signal;
    const [current, latest] = await Promise.all([
      api.variables(service.id, signal),
      service.latest ?? api.latestDeployment(service.id, signal),
    ]);
    // Always: the newest URL was signed to outlive the session, whatever deployment runs.
    await api.setVariables(service.id, variables, signal);
    if (latest && current.BUNDLE_SHA256 === request.bundle.sha256 && outcome(latest.status) !== 'failed') {
      request.onProgress(`${label}: the service already runs this version; following its deployment`);
      return latest.id;
    }
    request.onProgress(`${label}: deploying the new version`);
    const started = await api.startDeployment(service.id, latest?.id, signal);
    if (started.queued) {
      logger.info(
        { serviceId: service.id, deploymentId: started.id },
        'deployment queued behind one in progress',
      );
      request.onProgress(`${label}: deployment queued behind the one in progress`);
    }
    return started.id;
  }

  async function deployLocked(request: DeployRequest): Promise<Deployment> {
    assertDownloadableBundleUrl(label, request.bundleUrl);
    const signal = request.signal;
    const variables = runtimeVariables(request);
    request.onProgress(`${label}: looking for the app's service`);
    const found = await ensureService(serviceNameFor(request.sessionId), variables, request);
    const service = found.service;
    const deploymentId = found.created
      ? (found.deploymentId ?? (await firstDeployment(service.id, signal)))
      : await nextDeployment(service, variables, request);
    const url = await api.publicUrl(service, signal);
    const context = { sessionId: request.sessionId, serviceId: service.id, deploymentId };
    await followDeployment({
      label,
      read: (s) => api.deploymentStatus(service.id, deploymentId, s),
      outcome,
      onStatus: (status) => request.onProgress(`${label}: deployment ${spoken(status)}`),
      failure: async (status, s) => {
        const lines = await api.logs(service.id, deploymentId, FAILURE_LOG_FETCH_LINES, s).catch(() => []);
        logger.warn({ ...context, status, cause: failureCause(lines) }, 'deployment failed');
        return deployFailedError(label, status, lines);
      },
      signal,
      timeoutMs: deployTimeoutMs,
    });
    logger.info(context, 'deployment live');
    return { serviceId: service.id, url };
  }

  async function destroyLocked(sessionId: string): Promise<void> {
    for (const service of await api.servicesNamed(serviceNameFor(sessionId))) {
      await api.deleteService(service.id);
      logger.info({ sessionId, serviceId: service.id }, 'service deleted');
    }
  }

  return {
    name: options.name,
    label,
    ...(options.fallback ? { fallback: options.fallback } : {}),

    async refusal(sessionId: string): Promise<SpawnError | undefined> {
      if (options.breaker.isOpen()) return options.breaker.openError();
      const refused = await api.creationRefusal?.();
      if (!refused) return undefined;
      // A session whose service exists (a retried deploy) needs no new creation.
      const existing = await api.servicesNamed(serviceNameFor(sessionId)).catch(() => []);
      return existing.length > 0 ? undefined : refused;
    },

    deploy(request: DeployRequest): Promise<Deployment> {
      return locks.run(request.sessionId, () => deployLocked(request).finally(() => listing.invalidate()));
    },

    /** From the briefly cached listing: the reaper asks for every live session each sweep. */
    async status(sessionId: string): Promise<'running' | 'stopped' | 'missing'> {
      const name = serviceNameFor(sessionId);
      const service = (await listing.get()).find((s) => s.name === name);
      return service ? serviceState(words, service.status) : 'missing';
    },

    destroy(sessionId: string): Promise<void> {
      return locks.run(sessionId, () => destroyLocked(sessionId).finally(() => listing.invalidate()));
    },

    async list(): Promise<ProviderService[]> {
      const out: ProviderService[] = [];
      for (const s of await listing.get()) {
        const sessionId = sessionIdFromServiceName(s.name);
        if (!sessionId) continue;
        out.push({
          serviceId: s.id,
          sessionId,
          ...(s.url ? { url: s.url } : {}),
          running: serviceState(words, s.status) === 'running',
        });
      }
      return out;
    },
  };
}
