import { SpawnError } from '../../errors.js';
import type { CloudApi, CloudDeployment, CloudService, CloudStatusWords } from '../cloud/api.js';
import { type ProviderHttp, scrubProviderText } from '../resilience/http.js';
import { RUNTIME_PORT } from '../resilience/runtime.js';

export const RAILWAY_LABEL = 'Railway';

/**
 * Railway's `DeploymentStatus` enum, from its public GraphQL schema
 * (https://docs.railway.com/reference/public-api, introspection).
 */
export type RailwayDeploymentStatus =
  | 'QUEUED'
  | 'WAITING'
  | 'INITIALIZING'
  | 'BUILDING'
  | 'DEPLOYING'
  | 'SUCCESS'
  | 'FAILED'
  | 'CRASHED'
  | 'REMOVING'
  | 'REMOVED'
  | 'SLEEPING'
  | 'SKIPPED'
  | 'NEEDS_APPROVAL';

/**
 * A service's state is its latest deployment's. SLEEPING: an idle service Railway wakes on the
 * next request. REMOVING: the deployment is being taken down (replaced or deleted); it will not
 * come up. The others (QUEUED ... DEPLOYING, NEEDS_APPROVAL) are on their way.
 */
export const RAILWAY_STATUS_WORDS: CloudStatusWords = {
  live: ['SUCCESS', 'SLEEPING'] satisfies RailwayDeploymentStatus[],
  failed: ['FAILED', 'CRASHED', 'REMOVING', 'REMOVED', 'SKIPPED'] satisfies RailwayDeploymentStatus[],
};

/**
 * How the token is sent: account and workspace tokens as `Authorization: Bearer`, a project
 * token (one environment of one project) as `Project-Access-Token`
 * (https://docs.railway.com/reference/public-api#authentication).
 */
export type RailwayTokenType = 'account' | 'workspace' | 'project';

/** Registry login for a private runtime image (`RegistryCredentialsInput`; Railway Pro plan). */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

export interface RailwayApiOptions {
  readonly http: ProviderHttp;
  readonly projectId: string;
  readonly environmentId: string;
  readonly tokenType?: RailwayTokenType;
  /** The runtime image every service runs. */
  readonly image: string;
  /** Login for a private runtime image, sent when a service is created. */
  readonly registryCredentials?: RegistryCredentials;
}

/**
 * A service domain as a URL. Railway's are `*.up.railway.app` behind HTTPS; a loopback
 * `host:port` (what a local stand-in for Railway hands out) is plain HTTP.
 */
export function previewUrlOf(domain: string): string {
  return /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(domain) ? `http://${domain}` : `https://${domain}`;
}

/** The header that carries a Railway token of this type. */
export function railwayAuthHeaders(
  token: string,
  type: RailwayTokenType = 'account',
): Record<string, string> {
  return type === 'project' ? { 'project-access-token': token } : { authorization: `Bearer ${token}` };
}

interface CallOptions {
  readonly signal?: AbortSignal;
  readonly what: string;
  readonly idempotent?: boolean;
}

interface GraphQlError {
  readonly message?: unknown;
}

/** Service instances are read in pages of this many. */
const SERVICES_PAGE_SIZE = 100;

// `Service.serviceInstances` is deprecated: "Use environment.serviceInstances for properly scoped
// access control" (Railway's public schema); a project token sees only its own environment.
const SERVICES_QUERY = `query spawnServices($projectId: String!, $environmentId: String!, $after: String) {
  environment(id: $environmentId, projectId: $projectId) {
    serviceInstances(first: ${SERVICES_PAGE_SIZE}, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node {
        serviceId
        serviceName
        latestDeployment { id status }
        domains { serviceDomains { id domain } }
      } }
    }
  }
}`;

interface ServicesData {
  environment: {
    serviceInstances: {
      pageInfo?: { hasNextPage?: boolean; endCursor?: string | null };
      edges: {
        node: {
          serviceId: string;
          serviceName: string;
          latestDeployment?: CloudDeployment | null;
          domains?: { serviceDomains?: { id: string; domain: string }[] };
        };
      }[];
    };
  } | null;
}

/**
 * Railway as a {@link CloudApi}: its public GraphQL API, only the operations SpawnAI needs, in
 * one project and environment. GraphQL `errors` are errors even in a 200 answer: credentials
 * refused → `ERR_CONFIG`, a missing object → `ERR_NOT_FOUND`, rate limits → `ERR_RATE_LIMITED`,
 * Railway's own failures → `ERR_PROVIDER_UNAVAILABLE`, anything else → `ERR_DEPLOY_FAILED` with
 * Railway's message.
 */
export class RailwayApi implements CloudApi {
  readonly label = RAILWAY_LABEL;
  readonly statusWords = RAILWAY_STATUS_WORDS;
  private readonly http: ProviderHttp;
  private readonly projectId: string;
  private readonly environmentId: string;
  private readonly tokenType: RailwayTokenType;

  constructor(private readonly options: RailwayApiOptions) {
    this.http = options.http;
    this.projectId = options.projectId;
    this.environmentId = options.environmentId;
    this.tokenType = options.tokenType ?? 'account';
  }

  private async call<T>(query: string, variables: Record<string, unknown>, options: CallOptions): Promise<T> {
    const operationName = /^\s*(?:query|mutation)\s+(\w+)/.exec(query)?.[1];
    const res = await this.http.request({
      method: 'POST',
      path: '',
      body: { query, variables, ...(operationName ? { operationName } : {}) },
      what: options.what,
      idempotent: options.idempotent ?? query.trimStart().startsWith('query'),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as {
      data?: unknown;
      errors?: GraphQlError[];
    };
    if (Array.isArray(body.errors) && body.errors.length > 0)
      throw this.graphQlError(body.errors, options.what);
    if (body.data === undefined || body.data === null) {
      throw new SpawnError(
        'ERR_PROVIDER_UNAVAILABLE',
        `Railway answered without data while trying to ${options.what}`,
      );
    }
    return body.data as T;
  }

  private graphQlError(errors: readonly GraphQlError[], what: string): SpawnError {
    const message = scrubProviderText(
      errors.map((e) => (typeof e.message === 'string' ? e.message : 'unknown error')).join('; '),
    );
    if (/not authori[sz]ed|unauthori[sz]ed|unauthenticated|invalid token/i.test(message)) {
      const hint =
        this.tokenType === 'project'
          ? 'check RAILWAY_API_TOKEN: a project token works only in the project and environment it was made for (RAILWAY_PROJECT_ID, RAILWAY_ENVIRONMENT_ID)'
          : 'check RAILWAY_API_TOKEN (an account or workspace token; for a project token set RAILWAY_TOKEN_TYPE=project)';
      return new SpawnError(
        'ERR_CONFIG',
        `Railway refused our credentials while trying to ${what} (${message}); ${hint}`,
        {
          userMessage: "Railway refused this server's credentials; the operator needs to fix them.",
        },
      );
    }
    if (/not found/i.test(message)) return new SpawnError('ERR_NOT_FOUND', `Railway: ${message} (${what})`);
    if (/rate limit/i.test(message)) {
      return new SpawnError('ERR_RATE_LIMITED', `Railway: rate limited while trying to ${what}`, {
        userMessage: 'Railway asked us to slow down; please try again in a few minutes.',
      });
    }
    if (/internal server error|timed? ?out|unavailable|try again/i.test(message)) {
      this.http.breaker.failure(message);
      return new SpawnError('ERR_PROVIDER_UNAVAILABLE', `Railway failed to ${what}: ${message}`, {
        userMessage: 'Railway is not answering properly right now; please try again in a few minutes.',
      });
    }
    return new SpawnError('ERR_DEPLOY_FAILED', `Railway refused to ${what}: ${message}`);
  }

  /** Every service of our environment (Railway cannot filter by name), with its deployment and domain. */
  async listServices(_prefix: string, signal?: AbortSignal): Promise<CloudService[]> {
    const out: CloudService[] = [];
    let after: string | undefined;
    for (;;) {
      let data: ServicesData;
      try {
        data = await this.call<ServicesData>(
          SERVICES_QUERY,
          { projectId: this.projectId, environmentId: this.environmentId, ...(after ? { after } : {}) },
          { what: 'list the services', ...(signal ? { signal } : {}) },
        );
      } catch (e) {
        if (e instanceof SpawnError && e.code === 'ERR_NOT_FOUND') throw this.noEnvironment(e);
        throw e;
      }
      if (!data.environment) throw this.noEnvironment();
      for (const { node } of data.environment.serviceInstances.edges) {
        const latest = node.latestDeployment ?? undefined;
        const domain = node.domains?.serviceDomains?.[0]?.domain;
        out.push({
          id: node.serviceId,
          name: node.serviceName,
          ...(domain ? { url: previewUrlOf(domain) } : {}),
          ...(latest ? { status: latest.status, latest } : {}),
        });
      }
      const page = data.environment.serviceInstances.pageInfo;
      if (!page?.hasNextPage || !page.endCursor) return out;
      after = page.endCursor;
    }
  }

  private noEnvironment(cause?: unknown): SpawnError {
    return new SpawnError(
      'ERR_CONFIG',
      'Railway: RAILWAY_ENVIRONMENT_ID and RAILWAY_PROJECT_ID name no environment this token can see',
      cause ? { cause } : {},
    );
  }

  async servicesNamed(name: string, signal?: AbortSignal): Promise<CloudService[]> {
    return (await this.listServices(name, signal)).filter((s) => s.name === name);
  }

  /** Creates a service from the runtime image; Railway deploys it in the environment by itself. */
  async createService(
    name: string,
    variables: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ service: CloudService }> {
    const { image, registryCredentials } = this.options;
    const data = await this.call<{ serviceCreate: { id: string; name: string } }>(
      `mutation serviceCreate($input: ServiceCreateInput!) { serviceCreate(input: $input) { id name } }`,
      {
        input: {
          projectId: this.projectId,
          environmentId: this.environmentId,
          name,
          source: { image },
          variables,
          ...(registryCredentials ? { registryCredentials } : {}),
        },
      },
      { what: 'create the service', signal },
    );
    return { service: data.serviceCreate };
  }

  /** The service's own variables in our environment. */
  async variables(serviceId: string, signal?: AbortSignal): Promise<Record<string, string>> {
    const data = await this.call<{ variables: Record<string, string> | null }>(
      `query serviceVariables($projectId: String!, $environmentId: String!, $serviceId: String!) {
        variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: true)
      }`,
      { projectId: this.projectId, environmentId: this.environmentId, serviceId },
      { what: "read the service's variables", ...(signal ? { signal } : {}) },
    );
    return data.variables ?? {};
  }

  /** Sets the variables without triggering a deploy (the caller deploys when it wants to). */
  async setVariables(
    serviceId: string,
    variables: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call<{ variableCollectionUpsert: boolean }>(
      `mutation variableCollectionUpsert($input: VariableCollectionUpsertInput!) {
        variableCollectionUpsert(input: $input)
      }`,
      {
        input: {
          projectId: this.projectId,
          environmentId: this.environmentId,
          serviceId,
          variables,
          skipDeploys: true,
        },
      },
      { what: "set the service's variables", idempotent: true, ...(signal ? { signal } : {}) },
    );
  }

  async latestDeployment(serviceId: string, signal?: AbortSignal): Promise<CloudDeployment | undefined> {
    const data = await this.call<{ serviceInstance: { latestDeployment: CloudDeployment | null } | null }>(
      `query latestDeployment($serviceId: String!, $environmentId: String!) {
        serviceInstance(serviceId: $serviceId, environmentId: $environmentId) { latestDeployment { id status } }
      }`,
      { serviceId, environmentId: this.environmentId },
      { what: "read the service's deployment", ...(signal ? { signal } : {}) },
    );
    return data.serviceInstance?.latestDeployment ?? undefined;
  }

  /** Starts a new deployment of the service. */
  async startDeployment(
    serviceId: string,
    _previousId: string | undefined,
    signal: AbortSignal,
  ): Promise<{ id: string }> {
    const data = await this.call<{ serviceInstanceDeployV2: string }>(
      `mutation serviceInstanceDeployV2($serviceId: String!, $environmentId: String!) {
        serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId)
      }`,
      { serviceId, environmentId: this.environmentId },
      { what: 'start a deployment', signal },
    );
    return { id: data.serviceInstanceDeployV2 };
  }

  async deploymentStatus(_serviceId: string, id: string, signal: AbortSignal): Promise<string> {
    const data = await this.call<{ deployment: CloudDeployment | null }>(
      `query deployment($id: String!) { deployment(id: $id) { id status } }`,
      { id },
      { what: 'read the deployment', signal },
    );
    if (!data.deployment) throw new SpawnError('ERR_NOT_FOUND', 'Railway: the deployment disappeared');
    return data.deployment.status;
  }

  /** The last `limit` lines the deployment logged (oldest first). */
  async logs(_serviceId: string, id: string, limit: number, signal: AbortSignal): Promise<string[]> {
    const data = await this.call<{ deploymentLogs: { message: string }[] | null }>(
      `query deploymentLogs($deploymentId: String!, $limit: Int) {
        deploymentLogs(deploymentId: $deploymentId, limit: $limit) { message severity timestamp }
      }`,
      { deploymentId: id, limit },
      { what: "read the deployment's log", signal },
    );
    return (data.deploymentLogs ?? []).map((l) => l.message);
  }

  /** The service's domain as a URL; one is made (to the runtime's port) when it has none. */
  async publicUrl(service: CloudService, signal: AbortSignal): Promise<string> {
    if (service.url) return service.url;
    const domain = (await this.domains(service.id, signal))[0];
    return previewUrlOf(domain ?? (await this.createDomain(service.id, RUNTIME_PORT, signal)));
  }

  private async domains(serviceId: string, signal?: AbortSignal): Promise<string[]> {
    const data = await this.call<{ domains: { serviceDomains: { domain: string }[] } }>(
      `query domains($projectId: String!, $environmentId: String!, $serviceId: String!) {
        domains(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
          serviceDomains { id domain }
        }
      }`,
      { projectId: this.projectId, environmentId: this.environmentId, serviceId },
      { what: "read the service's domains", ...(signal ? { signal } : {}) },
    );
    return data.domains.serviceDomains.map((d) => d.domain);
  }

  private async createDomain(serviceId: string, targetPort: number, signal?: AbortSignal): Promise<string> {
    const data = await this.call<{ serviceDomainCreate: { id: string; domain: string } }>(
      `mutation serviceDomainCreate($input: ServiceDomainCreateInput!) {
        serviceDomainCreate(input: $input) { id domain }
      }`,
      { input: { serviceId, environmentId: this.environmentId, targetPort } },
      { what: 'create a domain', ...(signal ? { signal } : {}) },
    );
    return data.serviceDomainCreate.domain;
  }

  /** Deletes the service; a service that is already gone counts as deleted. */
  async deleteService(serviceId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.call<{ serviceDelete: boolean }>(
        `mutation serviceDelete($id: String!) { serviceDelete(id: $id) }`,
        { id: serviceId },
        { what: 'delete the service', idempotent: true, ...(signal ? { signal } : {}) },
      );
    } catch (e) {
      if (e instanceof SpawnError && e.code === 'ERR_NOT_FOUND') return;
      throw e;
    }
  }
}
