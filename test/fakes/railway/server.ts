import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppHost } from './app-host.js';
import type {
  FakeDeploymentStatus,
  FakeRailwayDeployment,
  FakeRailwayOptions,
  FakeRailwayService,
} from './model.js';

export type { FakeDeploymentStatus, FakeRailwayDeployment, FakeRailwayOptions, FakeRailwayService };

interface GraphQlBody {
  query?: unknown;
  variables?: Record<string, unknown>;
}

class GraphQlError extends Error {}

const QUEUED_MS = 30;

/**
 * A local Railway: one GraphQL POST route (`/graphql/v2`) answering the operations SpawnAI
 * sends, by their root field, with `{data}` or `{errors}` (HTTP 200, as Railway does). Bearer
 * auth, per-second and per-hour rate limits with 429 + `Retry-After` and `X-RateLimit-*`
 * headers. Deployments move QUEUED → DEPLOYING → SUCCESS | FAILED, each running the real
 * runtime bootstrap against the bundle URL it was given; domains are local addresses that
 * forward to the live deployment.
 */
export class FakeRailway {
  readonly services = new Map<string, FakeRailwayService>();
  readonly deployments = new Map<string, FakeRailwayDeployment>();
  /** Root fields of every operation received, in order. */
  readonly operations: string[] = [];
  /** Service names ever created (a deleted service stays here). */
  readonly created: string[] = [];
  /** Service ids ever deleted. */
  readonly deleted: string[] = [];
  /** Requests answered 429. */
  rateLimited = 0;
  /** Requests received (any answer). */
  requests = 0;
  /** Every request answers 503 while set (an outage). */
  outage = false;
  /** Deployments wait in DEPLOYING until {@link release} while set. */
  hold = false;
  private readonly held: (() => void)[] = [];
  /** Deployments that fail without running, next first. */
  private readonly failures: { status: 'FAILED' | 'CRASHED'; logs: string[] }[] = [];
  private readonly hits: number[] = [];
  private readonly host = new AppHost();
  private server: Server | undefined;
  url = '';

  constructor(readonly options: FakeRailwayOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: `fake failure: ${String(e)}` }] }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql/v2`;
    return this;
  }

  async stop(): Promise<void> {
    this.release();
    await this.host.stopAll();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** Lets every held deployment go on. */
  release(): void {
    this.hold = false;
    for (const go of this.held.splice(0)) go();
  }

  /** The next deployment fails with `status` and these log lines instead of starting. */
  failNextDeployment(status: 'FAILED' | 'CRASHED', logs: string[]): void {
    this.failures.push({ status, logs });
  }

  /** A service made outside SpawnAI's knowledge (e.g. by a worker that died). */
  async seedService(name: string): Promise<FakeRailwayService> {
    return this.createService({ name, image: 'ghcr.io/spawnai/runtime:1', variables: {} }, false);
  }

  servicesNamed(name: string): FakeRailwayService[] {
    return [...this.services.values()].filter((s) => s.name === name);
  }

  heldCount(): number {
    return this.held.length;
  }

  // ---- HTTP ----

  private rateLimit(res: ServerResponse): boolean {
    const now = Date.now();
    while (this.hits.length > 0 && this.hits[0]! <= now - 3_600_000) this.hits.shift();
    const perHour = this.options.perHour ?? 1000;
    const perSecond = this.options.perSecond ?? 50;
    const lastSecond = this.hits.filter((t) => t > now - 1000).length;
    const resetEpoch = Math.ceil((this.hits[0] ?? now) / 1000) + 3600;
    res.setHeader('X-RateLimit-Limit', String(perHour));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, perHour - this.hits.length - 1)));
    res.setHeader('X-RateLimit-Reset', String(resetEpoch));
    if (this.hits.length >= perHour || lastSecond >= perSecond) {
      this.rateLimited += 1;
      const retry = this.hits.length >= perHour ? Math.max(1, resetEpoch - Math.floor(now / 1000)) : 1;
      res.setHeader('Retry-After', String(retry));
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'You have exceeded the rate limit' }] }));
      return false;
    }
    this.hits.push(now);
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/graphql/v2') {
      res.writeHead(404).end();
      return;
    }
    this.requests += 1;
    if (this.outage) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream connect error');
      return;
    }
    if (!this.rateLimit(res)) return;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      send({ errors: [{ message: 'Not Authorized' }], data: null });
      return;
    }
    let body: GraphQlBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphQlBody;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'POST body is not valid JSON' }] }));
      return;
    }
    const query = typeof body.query === 'string' ? body.query : '';
    const root = /^\s*(?:query|mutation)?\s*\w*\s*(?:\([^)]*\))?\s*\{\s*(\w+)/.exec(query)?.[1];
    if (!root) {
      send({ errors: [{ message: 'Syntax Error: no operation' }], data: null });
      return;
    }
    this.operations.push(root);
    try {
      send({ data: { [root]: await this.resolve(root, query, body.variables ?? {}) } });
    } catch (e) {
      if (e instanceof GraphQlError) send({ errors: [{ message: e.message, path: [root] }], data: null });
      else throw e;
    }
  }

  // ---- resolvers ----

  private service(id: unknown): FakeRailwayService {
    const s = typeof id === 'string' ? this.services.get(id) : undefined;
    if (!s) throw new GraphQlError('Service not found');
    return s;
  }

  private environment(id: unknown): void {
    if (id !== this.options.environmentId) throw new GraphQlError('Environment not found');
  }

  private async resolve(root: string, query: string, v: Record<string, unknown>): Promise<unknown> {
    const input = (v.input ?? {}) as Record<string, unknown>;
    switch (root) {
      case 'project': {
        if ((v.projectId ?? v.id) !== this.options.projectId) throw new GraphQlError('Project not found');
        const first = Number(/services\(first:\s*(\d+)/.exec(query)?.[1] ?? '100');
        const all = [...this.services.values()];
        const start = typeof v.after === 'string' ? all.findIndex((s) => s.id === v.after) + 1 : 0;
        const page = all.slice(start, start + first);
        return {
          id: this.options.projectId,
          services: {
            pageInfo: { hasNextPage: start + first < all.length, endCursor: page.at(-1)?.id ?? null },
            edges: page.map((s) => ({
              node: {
                id: s.id,
                name: s.name,
                serviceInstances: {
                  edges: [
                    {
                      node: {
                        environmentId: this.options.environmentId,
                        latestDeployment: this.latest(s) ?? null,
                        domains: { serviceDomains: s.domain ? [s.domain] : [] },
                      },
                    },
                  ],
                },
              },
            })),
          },
        };
      }
      case 'serviceCreate': {
        if (input.projectId !== this.options.projectId) throw new GraphQlError('Project not found');
        if (input.environmentId !== undefined) this.environment(input.environmentId);
        const image = (input.source as { image?: unknown } | undefined)?.image;
        if (typeof input.name !== 'string' || typeof image !== 'string') {
          throw new GraphQlError('Invalid input: name and source.image are required');
        }
        const s = await this.createService(
          { name: input.name, image, variables: (input.variables ?? {}) as Record<string, string> },
          true,
        );
        return { id: s.id, name: s.name };
      }
      case 'variables': {
        this.environment(v.environmentId);
        return { ...this.service(v.serviceId).variables };
      }
      case 'variableCollectionUpsert': {
        this.environment(input.environmentId);
        const s = this.service(input.serviceId);
        const vars = (input.variables ?? {}) as Record<string, string>;
        s.variables = input.replace === true ? { ...vars } : { ...s.variables, ...vars };
        if (input.skipDeploys !== true) this.deploy(s);
        return true;
      }
      case 'serviceInstance': {
        this.environment(v.environmentId);
        const latest = this.latest(this.service(v.serviceId));
        return { latestDeployment: latest ?? null };
      }
      case 'serviceInstanceDeployV2': {
        this.environment(v.environmentId);
        return this.deploy(this.service(v.serviceId)).id;
      }
      case 'deployment': {
        const d = typeof v.id === 'string' ? this.deployments.get(v.id) : undefined;
        if (!d) throw new GraphQlError('Deployment not found');
        return { id: d.id, status: d.status };
      }
      case 'deploymentLogs': {
        const d = typeof v.deploymentId === 'string' ? this.deployments.get(v.deploymentId) : undefined;
        if (!d) throw new GraphQlError('Deployment not found');
        const limit = typeof v.limit === 'number' ? v.limit : 100;
        const lines = d.process ? d.process.logs : d.logs;
        return lines
          .slice(-limit)
          .map((message) => ({ message, severity: 'info', timestamp: new Date().toISOString() }));
      }
      case 'domains': {
        this.environment(v.environmentId);
        const s = this.service(v.serviceId);
        return { serviceDomains: s.domain ? [s.domain] : [], customDomains: [] };
      }
      case 'serviceDomainCreate': {
        this.environment(input.environmentId);
        const s = this.service(input.serviceId);
        const port = await this.host.openRoute(s.id);
        s.domain = { id: randomUUID(), domain: `127.0.0.1:${port}` };
        this.routeLive(s);
        return s.domain;
      }
      case 'serviceDelete': {
        const s = this.service(v.id);
        await this.deleteService(s);
        return true;
      }
      default:
        throw new GraphQlError(`Cannot query field "${root}" on type "Query" or "Mutation".`);
    }
  }

  private latest(s: FakeRailwayService): { id: string; status: string } | undefined {
    const id = s.deploymentIds.at(-1);
    const d = id ? this.deployments.get(id) : undefined;
    return d ? { id: d.id, status: d.status } : undefined;
  }

  private async createService(
    spec: { name: string; image: string; variables: Record<string, string> },
    deploy: boolean,
  ): Promise<FakeRailwayService> {
    const s: FakeRailwayService = {
      id: randomUUID(),
      name: spec.name,
      projectId: this.options.projectId,
      image: spec.image,
      variables: { ...spec.variables },
      domain: undefined,
      deploymentIds: [],
    };
    this.services.set(s.id, s);
    this.created.push(s.name);
    // Railway deploys a new image service in the environment on its own.
    if (deploy) this.deploy(s);
    return s;
  }

  private async deleteService(s: FakeRailwayService): Promise<void> {
    this.services.delete(s.id);
    this.deleted.push(s.id);
    for (const id of s.deploymentIds) {
      const d = this.deployments.get(id);
      if (d && d.status !== 'FAILED' && d.status !== 'CRASHED') d.status = 'REMOVED';
      await d?.process?.stop();
    }
    await this.host.closeRoute(s.id);
  }

  /** Points the service's domain at its live deployment. */
  private routeLive(s: FakeRailwayService): void {
    const live = s.deploymentIds
      .map((id) => this.deployments.get(id))
      .filter((d) => d?.status === 'SUCCESS')
      .at(-1);
    this.host.route(s.id, live?.process?.port);
  }

  private deploy(s: FakeRailwayService): FakeRailwayDeployment {
    const d: FakeRailwayDeployment = {
      id: randomUUID(),
      serviceId: s.id,
      status: 'QUEUED',
      variables: { ...s.variables },
      logs: [],
      process: undefined,
    };
    this.deployments.set(d.id, d);
    s.deploymentIds.push(d.id);
    void this.run(s, d);
    return d;
  }

  private async run(s: FakeRailwayService, d: FakeRailwayDeployment): Promise<void> {
    await new Promise((r) => setTimeout(r, QUEUED_MS));
    if (d.status !== 'QUEUED') return;
    d.status = 'DEPLOYING';
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (!this.services.has(s.id) || d.status !== 'DEPLOYING') return;
    const failure = this.failures.shift();
    if (failure) {
      d.logs = failure.logs;
      d.status = failure.status;
      return;
    }
    const proc = await this.host.start({ env: d.variables });
    d.process = proc;
    const outcome = await proc.ready;
    if (!this.services.has(s.id)) {
      await proc.stop();
      return;
    }
    if (outcome.state === 'exited') {
      d.status = 'FAILED';
      return;
    }
    d.status = 'SUCCESS';
    // The previous live deployment is replaced.
    for (const id of s.deploymentIds) {
      const other = this.deployments.get(id);
      if (other && other !== d && other.status === 'SUCCESS') {
        other.status = 'REMOVED';
        void other.process?.stop();
      }
    }
    this.routeLive(s);
    void proc.exited.then(() => {
      if (d.status === 'SUCCESS') {
        d.status = 'CRASHED';
        this.routeLive(s);
      }
    });
  }
}
