import type { FakeRailwayDeployment, FakeRailwayOptions, FakeRailwayService } from './model.js';

// Railway's public GraphQL API (https://docs.railway.com/reference/public-api): account and
// workspace tokens as `Authorization: Bearer`, project tokens only as `Project-Access-Token`
// and scoped to their project and environment; `environment.serviceInstances` in place of the
// deprecated `Service.serviceInstances`; `serviceCreate` with `registryCredentials` for
// private images (https://docs.railway.com/guides/manage-services).

/** An error the GraphQL layer answers as `{errors: [{message}]}` (HTTP 200, as Railway does). */
export class GraphQlError extends Error {}

/** Who a request authenticated as. */
export type Caller = 'account' | 'project';

/** What the resolvers read and change: the fake Railway's state and its lifecycle operations. */
export interface RailwayWorld {
  readonly options: FakeRailwayOptions;
  readonly services: Map<string, FakeRailwayService>;
  readonly deployments: Map<string, FakeRailwayDeployment>;
  readonly deprecatedFields: string[];
  createService(
    spec: {
      name: string;
      image: string;
      variables: Record<string, string>;
      registryCredentials: { username: string; password: string } | undefined;
    },
    deploy: boolean,
  ): Promise<FakeRailwayService>;
  deploy(s: FakeRailwayService): FakeRailwayDeployment;
  deleteService(s: FakeRailwayService): Promise<void>;
  /** A `*.up.railway.app` stand-in: a local address that forwards to the live deployment. */
  openDomain(s: FakeRailwayService): Promise<{ id: string; domain: string }>;
}

function service(world: RailwayWorld, id: unknown): FakeRailwayService {
  const s = typeof id === 'string' ? world.services.get(id) : undefined;
  if (!s) throw new GraphQlError('Service not found');
  return s;
}

function environment(world: RailwayWorld, id: unknown): void {
  if (id !== world.options.environmentId) throw new GraphQlError('Environment not found');
}

/** The value of one root field, or a GraphQlError. */
export async function resolveRailway(
  world: RailwayWorld,
  root: string,
  query: string,
  v: Record<string, unknown>,
  caller: Caller,
): Promise<unknown> {
  const input = (v.input ?? {}) as Record<string, unknown>;
  // A project token reaches one environment of one project, nothing of the account.
  const projectArg = v.projectId ?? input.projectId;
  const environmentArg = v.environmentId ?? input.environmentId;
  if (caller === 'project') {
    if (root === 'me' || root === 'projects') throw new GraphQlError('Not Authorized');
    if (projectArg !== undefined && projectArg !== world.options.projectId)
      throw new GraphQlError('Not Authorized');
    if (environmentArg !== undefined && environmentArg !== world.options.environmentId)
      throw new GraphQlError('Not Authorized');
  }
  switch (root) {
    case 'projectToken': {
      if (caller !== 'project') throw new GraphQlError('Not Authorized');
      return { projectId: world.options.projectId, environmentId: world.options.environmentId };
    }
    case 'project': {
      if ((v.projectId ?? v.id) !== world.options.projectId) throw new GraphQlError('Project not found');
      const nested = /services[^{]*\{[\s\S]*serviceInstances/.test(query);
      if (nested) {
        // Deprecated: "Use environment.serviceInstances for properly scoped access control".
        if (caller === 'project') throw new GraphQlError('Not Authorized');
        world.deprecatedFields.push('Service.serviceInstances');
      }
      const first = Number(/services\(first:\s*(\d+)/.exec(query)?.[1] ?? '100');
      const all = [...world.services.values()];
      const start = typeof v.after === 'string' ? all.findIndex((s) => s.id === v.after) + 1 : 0;
      const page = all.slice(start, start + first);
      return {
        id: world.options.projectId,
        services: {
          pageInfo: { hasNextPage: start + first < all.length, endCursor: page.at(-1)?.id ?? null },
          edges: page.map((s) => ({
            node: {
              id: s.id,
              name: s.name,
              ...(nested
                ? {
                    serviceInstances: {
                      edges: [
                        { node: { environmentId: world.options.environmentId, ...instance(world, s) } },
                      ],
                    },
                  }
                : {}),
            },
          })),
        },
      };
    }
    case 'environment': {
      environment(world, v.environmentId ?? v.id);
      if (v.projectId !== undefined && v.projectId !== world.options.projectId)
        throw new GraphQlError('Environment not found');
      const first = Number(/serviceInstances\(first:\s*(\d+)/.exec(query)?.[1] ?? '100');
      const all = [...world.services.values()];
      const start = typeof v.after === 'string' ? all.findIndex((s) => s.id === v.after) + 1 : 0;
      const page = all.slice(start, start + first);
      return {
        id: world.options.environmentId,
        serviceInstances: {
          pageInfo: { hasNextPage: start + first < all.length, endCursor: page.at(-1)?.id ?? null },
          edges: page.map((s) => ({
            node: {
              serviceId: s.id,
              serviceName: s.name,
              environmentId: world.options.environmentId,
              ...instance(world, s),
            },
          })),
        },
      };
    }
    case 'serviceCreate': {
      if (input.projectId !== world.options.projectId) throw new GraphQlError('Project not found');
      if (input.environmentId !== undefined) environment(world, input.environmentId);
      const image = (input.source as { image?: unknown } | undefined)?.image;
      if (typeof input.name !== 'string' || typeof image !== 'string') {
        throw new GraphQlError('Invalid input: name and source.image are required');
      }
      const credentials = input.registryCredentials as { username?: unknown; password?: unknown } | undefined;
      if (
        credentials !== undefined &&
        (typeof credentials.username !== 'string' || typeof credentials.password !== 'string')
      ) {
        throw new GraphQlError('Invalid input: registryCredentials needs username and password');
      }
      const s = await world.createService(
        {
          name: input.name,
          image,
          variables: (input.variables ?? {}) as Record<string, string>,
          registryCredentials: credentials as { username: string; password: string } | undefined,
        },
        true,
      );
      return { id: s.id, name: s.name };
    }
    case 'variables': {
      environment(world, v.environmentId);
      return { ...service(world, v.serviceId).variables };
    }
    case 'variableCollectionUpsert': {
      environment(world, input.environmentId);
      const s = service(world, input.serviceId);
      const vars = (input.variables ?? {}) as Record<string, string>;
      s.variables = input.replace === true ? { ...vars } : { ...s.variables, ...vars };
      if (input.skipDeploys !== true) world.deploy(s);
      return true;
    }
    case 'serviceInstance': {
      environment(world, v.environmentId);
      return { latestDeployment: latest(world, service(world, v.serviceId)) ?? null };
    }
    case 'serviceInstanceDeployV2': {
      environment(world, v.environmentId);
      return world.deploy(service(world, v.serviceId)).id;
    }
    case 'deployment': {
      const d = typeof v.id === 'string' ? world.deployments.get(v.id) : undefined;
      if (!d) throw new GraphQlError('Deployment not found');
      return { id: d.id, status: d.status };
    }
    case 'deploymentLogs': {
      const d = typeof v.deploymentId === 'string' ? world.deployments.get(v.deploymentId) : undefined;
      if (!d) throw new GraphQlError('Deployment not found');
      const limit = typeof v.limit === 'number' ? v.limit : 100;
      const lines = d.process ? d.process.logs : d.logs;
      return lines
        .slice(-limit)
        .map((message) => ({ message, severity: 'info', timestamp: new Date().toISOString() }));
    }
    case 'domains': {
      environment(world, v.environmentId);
      const s = service(world, v.serviceId);
      return { serviceDomains: s.domain ? [s.domain] : [], customDomains: [] };
    }
    case 'serviceDomainCreate': {
      environment(world, input.environmentId);
      const s = service(world, input.serviceId);
      return world.openDomain(s);
    }
    case 'serviceDelete': {
      const s = service(world, v.id);
      await world.deleteService(s);
      return true;
    }
    default:
      throw new GraphQlError(`Cannot query field "${root}" on type "Query" or "Mutation".`);
  }
}

/** A service instance's deployment and domains in our environment. */
function instance(world: RailwayWorld, s: FakeRailwayService) {
  return {
    latestDeployment: latest(world, s) ?? null,
    domains: { serviceDomains: s.domain ? [s.domain] : [], customDomains: [] },
  };
}

function latest(world: RailwayWorld, s: FakeRailwayService): { id: string; status: string } | undefined {
  const id = s.deploymentIds.at(-1);
  const d = id ? world.deployments.get(id) : undefined;
  return d ? { id: d.id, status: d.status } : undefined;
}
