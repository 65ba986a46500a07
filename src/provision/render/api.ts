import { SpawnError } from '../../errors.js';
import { sleep } from '../../util/time.js';
import type { CloudApi, CloudDeployment, CloudService, CloudStatusWords } from '../cloud/api.js';
import type { ProviderHttp } from '../resilience/http.js';
import { cancelledError } from '../wait.js';
import type { CreateBudget } from './create-budget.js';

export const RENDER_LABEL = 'Render';
/** The path Render probes before it sends traffic to a new deploy. */
export const RENDER_HEALTH_CHECK_PATH = '/';

/** Deploy statuses Render documents. */
export type RenderDeployStatus =
  | 'created'
  | 'queued'
  | 'build_in_progress'
  | 'update_in_progress'
  | 'pre_deploy_in_progress'
  | 'live'
  | 'deactivated'
  | 'build_failed'
  | 'update_failed'
  | 'pre_deploy_failed'
  | 'canceled';

/**
 * A deploy is live, or will never be: `deactivated` is a live one a newer deploy replaced.
 * A service is listed by its `suspended` state (the listing has no deploys): Render restarts a
 * crashed instance itself, a suspended service does not run.
 */
export const RENDER_STATUS_WORDS: CloudStatusWords = {
  live: ['live'] satisfies RenderDeployStatus[],
  failed: [
    'build_failed',
    'update_failed',
    'pre_deploy_failed',
    'canceled',
    'deactivated',
  ] satisfies RenderDeployStatus[],
  stopped: ['suspended'],
};

interface RenderService {
  readonly id: string;
  readonly name: string;
  readonly suspended?: 'suspended' | 'not_suspended' | string;
  readonly serviceDetails?: { readonly url?: string };
}

export interface RenderApiOptions {
  readonly http: ProviderHttp;
  /** Workspace that owns the services. */
  readonly ownerId: string;
  /** The runtime image every service runs. */
  readonly image: string;
  readonly plan: string;
  readonly region: string;
  /** A registry credential of the owner that can pull a private image. */
  readonly registryCredentialId?: string;
  /** Shared count of service creations (Render allows 20 per hour). */
  readonly createBudget: CreateBudget;
}

/** Looks at the deploy list for a deploy Render queued (202) before giving up. */
const QUEUED_LOOKUPS = 5;
const QUEUED_LOOKUP_PAUSE_MS = 200;
const QUEUED_PAGE = 5;

/** Render's list endpoints accept at most this many items per page. */
const PAGE_SIZE = 100;
/** Pages read at most when listing services (10,000 services). */
const MAX_PAGES = 100;

function items<T>(body: unknown, key: string): { item: T; cursor: string | undefined }[] {
  if (!Array.isArray(body)) return [];
  return body
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && key in e)
    .map((e) => ({ item: e[key] as T, cursor: typeof e.cursor === 'string' ? e.cursor : undefined }));
}

function envList(vars: Record<string, string>): { key: string; value: string }[] {
  return Object.entries(vars).map(([key, value]) => ({ key, value }));
}

function cloudService(s: RenderService): CloudService {
  return {
    id: s.id,
    name: s.name,
    ...(s.serviceDetails?.url ? { url: s.serviceDetails.url } : {}),
    status: s.suspended ?? 'not_suspended',
  };
}

function minutes(ms: number): string {
  const n = Math.max(1, Math.ceil(ms / 60_000));
  return `${n} minute${n === 1 ? '' : 's'}`;
}

/**
 * Render as a {@link CloudApi}: its REST API (v1), only what SpawnAI needs; lists come as
 * `[{<item>, cursor}]`. Image-backed web services with a health check on `/`. Creations are
 * counted against Render's hourly limit before they are sent: when the budget is spent a
 * creation is refused with how long to wait (`ERR_PROVIDER_QUOTA`).
 */
export class RenderApi implements CloudApi {
  readonly label = RENDER_LABEL;
  readonly statusWords = RENDER_STATUS_WORDS;
  private readonly http: ProviderHttp;
  private readonly ownerId: string;

  constructor(private readonly options: RenderApiOptions) {
    this.http = options.http;
    this.ownerId = options.ownerId;
  }

  private quotaError(retryAfterMs: number): SpawnError {
    const max = this.options.createBudget.max;
    const message = `Render allows ${max} new app${max === 1 ? '' : 's'} per hour; try again in ${minutes(retryAfterMs)}.`;
    return new SpawnError('ERR_PROVIDER_QUOTA', message, { retryAfterMs, userMessage: message });
  }

  async creationRefusal(): Promise<SpawnError | undefined> {
    const left = await this.options.createBudget.peek();
    return left.remaining > 0 ? undefined : this.quotaError(left.retryAfterMs);
  }

  /** Services whose name is exactly `name`. */
  async servicesNamed(name: string, signal?: AbortSignal): Promise<CloudService[]> {
    const res = await this.http.request({
      method: 'GET',
      path: '/services',
      query: { name, ownerId: this.ownerId, type: 'web_service', limit: PAGE_SIZE },
      what: 'look for the service',
      ...(signal ? { signal } : {}),
    });
    return items<RenderService>(res.body, 'service')
      .map((e) => cloudService(e.item))
      .filter((s) => s.name === name);
  }

  /** Every web service of the owner whose name starts with `prefix`, page by page. */
  async listServices(prefix: string, signal?: AbortSignal): Promise<CloudService[]> {
    const out: CloudService[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.http.request({
        method: 'GET',
        path: '/services',
        query: { ownerId: this.ownerId, type: 'web_service', limit: PAGE_SIZE, cursor },
        what: 'list the services',
        ...(signal ? { signal } : {}),
      });
      const batch = items<RenderService>(res.body, 'service');
      out.push(...batch.map((e) => cloudService(e.item)).filter((s) => s.name.startsWith(prefix)));
      if (batch.length < PAGE_SIZE) return out;
      cursor = batch[batch.length - 1]!.cursor;
      if (!cursor) return out;
    }
    return out;
  }

  /** The service's `onrender.com` URL, from the listing or read afresh. */
  async publicUrl(service: CloudService, signal: AbortSignal): Promise<string> {
    if (service.url) return service.url;
    const res = await this.http.request({
      method: 'GET',
      path: `/services/${encodeURIComponent(service.id)}`,
      what: 'read the service',
      accept: [404],
      signal,
    });
    const url = res.status === 404 ? undefined : (res.body as RenderService).serviceDetails?.url;
    if (!url) throw new SpawnError('ERR_PROVIDER_UNAVAILABLE', 'Render: the service has no URL');
    return url;
  }

  /** Creates an image-backed web service (after claiming one from the budget); Render starts its first deploy at once. */
  async createService(
    name: string,
    variables: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ service: CloudService; deploymentId?: string }> {
    const claim = await this.options.createBudget.take();
    if (!claim.allowed) throw this.quotaError(claim.retryAfterMs);
    const { image, registryCredentialId, plan, region } = this.options;
    let res: Awaited<ReturnType<ProviderHttp['request']>>;
    try {
      res = await this.http.request({
        method: 'POST',
        path: '/services',
        body: {
          type: 'web_service',
          name,
          ownerId: this.ownerId,
          image: {
            ownerId: this.ownerId,
            imagePath: image,
            ...(registryCredentialId ? { registryCredentialId } : {}),
          },
          envVars: envList(variables),
          serviceDetails: {
            runtime: 'image',
            plan,
            region,
            healthCheckPath: RENDER_HEALTH_CHECK_PATH,
            numInstances: 1,
          },
        },
        what: 'create the service',
        signal,
      });
    } catch (e) {
      // Render counts creations we did not: its own 429 is the same limit, said the same way.
      if (e instanceof SpawnError && e.code === 'ERR_RATE_LIMITED')
        throw this.quotaError(e.retryAfterMs ?? 60_000);
      throw e;
    }
    const body = res.body as { service?: RenderService; deployId?: string };
    if (!body?.service?.id) {
      throw new SpawnError('ERR_PROVIDER_UNAVAILABLE', 'Render: the created service came back without an id');
    }
    return { service: cloudService(body.service), ...(body.deployId ? { deploymentId: body.deployId } : {}) };
  }

  async variables(serviceId: string, signal?: AbortSignal): Promise<Record<string, string>> {
    const res = await this.http.request({
      method: 'GET',
      path: `/services/${encodeURIComponent(serviceId)}/env-vars`,
      query: { limit: PAGE_SIZE },
      what: "read the service's environment",
      ...(signal ? { signal } : {}),
    });
    const out: Record<string, string> = {};
    for (const { item } of items<{ key: string; value?: string }>(res.body, 'envVar')) {
      if (typeof item.value === 'string') out[item.key] = item.value;
    }
    return out;
  }

  /** Replaces every variable of the service (applied by the next deploy). */
  async setVariables(serviceId: string, vars: Record<string, string>, signal?: AbortSignal): Promise<void> {
    await this.http.request({
      method: 'PUT',
      path: `/services/${encodeURIComponent(serviceId)}/env-vars`,
      body: envList(vars),
      what: "set the service's environment",
      ...(signal ? { signal } : {}),
    });
  }

  async latestDeployment(serviceId: string, signal?: AbortSignal): Promise<CloudDeployment | undefined> {
    return (await this.deploys(serviceId, 1, signal))[0];
  }

  /**
   * Starts a deploy and returns its id. Render answers 201 with the deploy, or 202 Queued with
   * no body when a deploy of the service is already in progress
   * (https://api-docs.render.com/reference/create-deploy); the queued deploy is then the newest
   * one in the service's list that was not there before (`previous`, the newest before).
   */
  async startDeployment(
    serviceId: string,
    previous: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ id: string; queued: boolean }> {
    const res = await this.http.request({
      method: 'POST',
      path: `/services/${encodeURIComponent(serviceId)}/deploys`,
      body: {},
      what: 'start a deploy',
      // A second deploy of the same service only replaces the first: harmless.
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    const id = (res.body as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string') return { id, queued: res.status === 202 };
    for (let look = 1; look <= QUEUED_LOOKUPS; look++) {
      const newest = (await this.deploys(serviceId, QUEUED_PAGE, signal))[0];
      if (newest && newest.id !== previous) return { id: newest.id, queued: true };
      await sleep(QUEUED_LOOKUP_PAUSE_MS * look, signal).catch(() => {
        throw cancelledError(signal!, 'looking for the queued Render deploy');
      });
    }
    throw new SpawnError(
      'ERR_PROVIDER_UNAVAILABLE',
      `Render: the deploy was queued (HTTP ${res.status}) but does not show in the service's deploys`,
    );
  }

  /** The service's newest deploys, newest first. */
  private async deploys(serviceId: string, limit: number, signal?: AbortSignal): Promise<CloudDeployment[]> {
    const res = await this.http.request({
      method: 'GET',
      path: `/services/${encodeURIComponent(serviceId)}/deploys`,
      query: { limit },
      what: "read the service's deploys",
      ...(signal ? { signal } : {}),
    });
    return items<CloudDeployment>(res.body, 'deploy').map((e) => e.item);
  }

  async deploymentStatus(serviceId: string, deployId: string, signal: AbortSignal): Promise<string> {
    const res = await this.http.request({
      method: 'GET',
      path: `/services/${encodeURIComponent(serviceId)}/deploys/${encodeURIComponent(deployId)}`,
      what: 'read the deploy',
      signal,
    });
    return String((res.body as Partial<CloudDeployment> | undefined)?.status);
  }

  /** The last `limit` log lines of the service (Render keeps one log per service), oldest first. */
  async logs(serviceId: string, _deployId: string, limit: number, signal?: AbortSignal): Promise<string[]> {
    const res = await this.http.request({
      method: 'GET',
      path: '/logs',
      query: { ownerId: this.ownerId, resource: serviceId, limit, direction: 'backward' },
      what: "read the service's log",
      ...(signal ? { signal } : {}),
    });
    const logs = (res.body as { logs?: { message?: unknown; timestamp?: string }[] } | undefined)?.logs ?? [];
    return logs
      .filter((l) => typeof l.message === 'string')
      .sort((a, b) => String(a.timestamp ?? '').localeCompare(String(b.timestamp ?? '')))
      .map((l) => l.message as string);
  }

  /** Deletes the service; one that is already gone counts as deleted. */
  async deleteService(serviceId: string, signal?: AbortSignal): Promise<void> {
    await this.http.request({
      method: 'DELETE',
      path: `/services/${encodeURIComponent(serviceId)}`,
      what: 'delete the service',
      accept: [404],
      ...(signal ? { signal } : {}),
    });
  }
}
