import { SpawnError } from '../../errors.js';
import { sleep } from '../../util/time.js';
import type { ProviderHttp } from '../resilience/http.js';
import { cancelledError } from '../wait.js';

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

export interface RenderService {
  readonly id: string;
  readonly name: string;
  readonly suspended?: 'suspended' | 'not_suspended' | string;
  readonly serviceDetails?: { readonly url?: string };
}

export interface RenderDeploy {
  readonly id: string;
  readonly status: RenderDeployStatus | string;
}

export interface RenderServiceSpec {
  readonly name: string;
  readonly image: string;
  readonly envVars: Record<string, string>;
  readonly plan: string;
  readonly region: string;
  readonly healthCheckPath: string;
  /** A registry credential of the owner that can pull a private image. */
  readonly registryCredentialId?: string;
}

export interface RenderApiOptions {
  readonly http: ProviderHttp;
  readonly ownerId: string;
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

/** Render's REST API (v1), only what SpawnAI needs. Lists come as `[{<item>, cursor}]`. */
export class RenderApi {
  private readonly http: ProviderHttp;
  readonly ownerId: string;

  constructor(options: RenderApiOptions) {
    this.http = options.http;
    this.ownerId = options.ownerId;
  }

  /** Services whose name is exactly `name`. */
  async servicesNamed(name: string, signal?: AbortSignal): Promise<RenderService[]> {
    const res = await this.http.request({
      method: 'GET',
      path: '/services',
      query: { name, ownerId: this.ownerId, type: 'web_service', limit: PAGE_SIZE },
      what: 'look for the service',
      ...(signal ? { signal } : {}),
    });
    return items<RenderService>(res.body, 'service')
      .map((e) => e.item)
      .filter((s) => s.name === name);
  }

  /** Every web service of the owner whose name starts with `prefix`, page by page. */
  async servicesWithPrefix(prefix: string, signal?: AbortSignal): Promise<RenderService[]> {
    const out: RenderService[] = [];
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
      out.push(...batch.map((e) => e.item).filter((s) => s.name.startsWith(prefix)));
      if (batch.length < PAGE_SIZE) return out;
      cursor = batch[batch.length - 1]!.cursor;
      if (!cursor) return out;
    }
    return out;
  }

  async service(id: string, signal?: AbortSignal): Promise<RenderService | undefined> {
    const res = await this.http.request({
      method: 'GET',
      path: `/services/${encodeURIComponent(id)}`,
      what: 'read the service',
      accept: [404],
      ...(signal ? { signal } : {}),
    });
    return res.status === 404 ? undefined : (res.body as RenderService);
  }

  /** Creates an image-backed web service; Render starts its first deploy at once. */
  async createService(
    spec: RenderServiceSpec,
    signal?: AbortSignal,
  ): Promise<{ service: RenderService; deployId: string | undefined }> {
    const res = await this.http.request({
      method: 'POST',
      path: '/services',
      body: {
        type: 'web_service',
        name: spec.name,
        ownerId: this.ownerId,
        image: {
          ownerId: this.ownerId,
          imagePath: spec.image,
          ...(spec.registryCredentialId ? { registryCredentialId: spec.registryCredentialId } : {}),
        },
        envVars: envList(spec.envVars),
        serviceDetails: {
          runtime: 'image',
          plan: spec.plan,
          region: spec.region,
          healthCheckPath: spec.healthCheckPath,
          numInstances: 1,
        },
      },
      what: 'create the service',
      ...(signal ? { signal } : {}),
    });
    const body = res.body as { service?: RenderService; deployId?: string };
    if (!body?.service?.id) {
      throw new SpawnError('ERR_PROVIDER_UNAVAILABLE', 'Render: the created service came back without an id');
    }
    return { service: body.service, deployId: body.deployId };
  }

  async envVars(serviceId: string, signal?: AbortSignal): Promise<Record<string, string>> {
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
  async replaceEnvVars(serviceId: string, vars: Record<string, string>, signal?: AbortSignal): Promise<void> {
    await this.http.request({
      method: 'PUT',
      path: `/services/${encodeURIComponent(serviceId)}/env-vars`,
      body: envList(vars),
      what: "set the service's environment",
      ...(signal ? { signal } : {}),
    });
  }

  async latestDeploy(serviceId: string, signal?: AbortSignal): Promise<RenderDeploy | undefined> {
    return (await this.deploys(serviceId, 1, signal))[0];
  }

  /**
   * Starts a deploy and returns its id. Render answers 201 with the deploy, or 202 Queued with
   * no body when a deploy of the service is already in progress
   * (https://api-docs.render.com/reference/create-deploy); the queued deploy is then the newest
   * one in the service's list that was not there before (`previous`, the newest before).
   */
  async triggerDeploy(
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
  async deploys(serviceId: string, limit: number, signal?: AbortSignal): Promise<RenderDeploy[]> {
    const res = await this.http.request({
      method: 'GET',
      path: `/services/${encodeURIComponent(serviceId)}/deploys`,
      query: { limit },
      what: "read the service's deploys",
      ...(signal ? { signal } : {}),
    });
    return items<RenderDeploy>(res.body, 'deploy').map((e) => e.item);
  }

  async deploy(serviceId: string, deployId: string, signal?: AbortSignal): Promise<RenderDeploy> {
    const res = await this.http.request({
      method: 'GET',
      path: `/services/${encodeURIComponent(serviceId)}/deploys/${encodeURIComponent(deployId)}`,
      what: 'read the deploy',
      ...(signal ? { signal } : {}),
    });
    return res.body as RenderDeploy;
  }

  /** The last `limit` log lines of the service (oldest first); empty when Render has none. */
  async logs(serviceId: string, limit: number, signal?: AbortSignal): Promise<string[]> {
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
