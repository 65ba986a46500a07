import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppHost, type RunningDeployment } from './app-host.js';
import type {
  FakeDeploymentStatus,
  FakeRailwayDeployment,
  FakeRailwayOptions,
  FakeRailwayService,
} from './model.js';
import { type Caller, GraphQlError, type RailwayWorld, resolveRailway } from './resolvers.js';

export type { FakeDeploymentStatus, FakeRailwayDeployment, FakeRailwayOptions, FakeRailwayService };

interface GraphQlBody {
  query?: unknown;
  variables?: Record<string, unknown>;
}

const QUEUED_MS = 30;
/** How long a replaced or deleted deployment shows REMOVING before REMOVED. */
const REMOVING_MS = 200;

/**
 * A local Railway: one GraphQL POST route (`/graphql/v2`) answering the operations SpawnAI
 * sends, by their root field, with `{data}` or `{errors}` (HTTP 200, as Railway does). Account
 * or workspace tokens as `Authorization: Bearer`, project tokens as `Project-Access-Token`
 * (scoped to one environment of one project); per-second and per-hour rate limits with 429 +
 * `Retry-After` and `X-RateLimit-*` headers. Deployments move QUEUED → DEPLOYING → SUCCESS |
 * FAILED, each running the real runtime bootstrap against the bundle URL it was given; a
 * replaced or deleted one goes REMOVING → REMOVED. Domains are local addresses that forward
 * to the live deployment. A private image deploys only with its registry credentials.
 *
 * Sources: https://docs.railway.com/reference/public-api (endpoint, token types and headers,
 * rate limits: 100 requests an hour on the free plan, 1,000 on Hobby, 10,000 on Pro), Railway's
 * public GraphQL schema by introspection (`DeploymentStatus` has REMOVING; `Service.serviceInstances`
 * is deprecated for `environment.serviceInstances`; `ServiceCreateInput.registryCredentials`),
 * https://docs.railway.com/guides/manage-services (service create, deploy, delete).
 */
export class FakeRailway implements RailwayWorld {
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
  /** Deprecated schema fields SpawnAI asked for (`Type.field`), in order. */
  readonly deprecatedFields: string[] = [];
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
  async seedService(name: string, deployment?: FakeDeploymentStatus): Promise<FakeRailwayService> {
    const s = await this.createService(
      { name, image: 'ghcr.io/spawnai/runtime:1', variables: {}, registryCredentials: undefined },
      false,
    );
    if (deployment) {
      // A deployment record only (nothing runs): enough for listings and statuses.
      const d: FakeRailwayDeployment = {
        id: randomUUID(),
        serviceId: s.id,
        status: deployment,
        variables: {},
        logs: [],
        process: undefined,
      };
      this.deployments.set(d.id, d);
      s.deploymentIds.push(d.id);
    }
    return s;
  }

  /** Requests answered so far with a GraphQL operation, by root field (e.g. `environment`). */
  count(root: string): number {
    return this.operations.filter((o) => o === root).length;
  }

  /**
   * Someone removes a deployment (the dashboard): it shows REMOVING for `removingMs` (a draining
   * service can take minutes), then REMOVED.
   */
  removeDeployment(id: string, removingMs = REMOVING_MS): void {
    const d = this.deployments.get(id);
    if (!d) throw new Error(`no deployment ${id}`);
    this.remove(d, removingMs);
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
    const caller = this.caller(req);
    if (!caller) {
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
      send({ data: { [root]: await resolveRailway(this, root, query, body.variables ?? {}, caller) } });
    } catch (e) {
      if (e instanceof GraphQlError) send({ errors: [{ message: e.message, path: [root] }], data: null });
      else throw e;
    }
  }

  /**
   * Account and workspace tokens go in `Authorization: Bearer`, project tokens in
   * `Project-Access-Token`; a project token sent as Bearer is not accepted.
   */
  private caller(req: IncomingMessage): Caller | undefined {
    if (req.headers.authorization === `Bearer ${this.options.token}`) return 'account';
    const project = req.headers['project-access-token'];
    if (this.options.projectToken && project === this.options.projectToken) return 'project';
    return undefined;
  }

  // ---- resolvers ----

  /** For the resolvers (and seeding): a service from an image, deployed at once when `deploy`. */
  async createService(
    spec: {
      name: string;
      image: string;
      variables: Record<string, string>;
      registryCredentials: { username: string; password: string } | undefined;
    },
    deploy: boolean,
  ): Promise<FakeRailwayService> {
    const s: FakeRailwayService = {
      id: randomUUID(),
      name: spec.name,
      projectId: this.options.projectId,
      image: spec.image,
      registryCredentials: spec.registryCredentials,
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

  async deleteService(s: FakeRailwayService): Promise<void> {
    this.services.delete(s.id);
    this.deleted.push(s.id);
    for (const id of s.deploymentIds) {
      const d = this.deployments.get(id);
      if (d) this.remove(d);
      await d?.process?.stop();
    }
    await this.host.closeRoute(s.id);
  }

  /** Takes a deployment down: REMOVING for a moment, then REMOVED (ended ones stay as they are). */
  private remove(d: FakeRailwayDeployment, removingMs = REMOVING_MS): void {
    if (d.status === 'FAILED' || d.status === 'CRASHED' || d.status === 'REMOVED') return;
    d.status = 'REMOVING';
    void d.process?.stop();
    setTimeout(() => {
      if (d.status === 'REMOVING') d.status = 'REMOVED';
      const s = this.services.get(d.serviceId);
      if (s) this.routeLive(s);
    }, removingMs).unref();
  }

  async openDomain(s: FakeRailwayService): Promise<{ id: string; domain: string }> {
    const port = await this.host.openRoute(s.id);
    s.domain = { id: randomUUID(), domain: `127.0.0.1:${port}` };
    this.routeLive(s);
    return s.domain;
  }

  /** Points the service's domain at its live deployment. */
  private routeLive(s: FakeRailwayService): void {
    const live = s.deploymentIds
      .map((id) => this.deployments.get(id))
      .filter((d) => d?.status === 'SUCCESS')
      .at(-1);
    this.host.route(s.id, live?.process?.port);
  }

  deploy(s: FakeRailwayService): FakeRailwayDeployment {
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
    const login = this.options.privateImages?.[s.image];
    const given = s.registryCredentials;
    if (login && (given?.username !== login.username || given?.password !== login.password)) {
      d.logs = [`Failed to pull image "${s.image}": unauthorized: authentication required`];
      d.status = 'FAILED';
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
      if (other && other !== d && other.status === 'SUCCESS') this.remove(other);
    }
    this.routeLive(s);
    this.watchExit(s, d, proc);
  }

  /** A live deployment whose process ends is CRASHED (unless it was restarted on purpose). */
  private watchExit(s: FakeRailwayService, d: FakeRailwayDeployment, proc: RunningDeployment): void {
    void proc.exited.then(() => {
      if (d.status === 'SUCCESS' && d.process === proc) {
        d.status = 'CRASHED';
        this.routeLive(s);
      }
    });
  }

  /** The service's latest deployment, whatever its status. */
  latestDeployment(serviceId: string): FakeRailwayDeployment | undefined {
    const id = this.services.get(serviceId)?.deploymentIds.at(-1);
    return id ? this.deployments.get(id) : undefined;
  }

  /** The app's process dies (out of memory, a host failure): its deployment shows CRASHED. */
  async crash(serviceId: string): Promise<void> {
    const d = this.latestDeployment(serviceId);
    if (!d?.process) throw new Error(`no running deployment for service ${serviceId}`);
    await d.process.stop();
  }

  /**
   * Railway's restart: the latest deployment starts again from its image with the same
   * variables, without a new build or deployment, so the runtime downloads its bundle again
   * from the URL it was given at deploy time. Also what Railway's restart policy does after a
   * crash. Source: the Railway CLI's `restart` ("Restart the latest deployment of a service
   * (without rebuilding)"), https://docs.rs/crate/railwayapp/latest/source/src/commands/restart.rs
   */
  async restart(serviceId: string): Promise<'ready' | 'crashed'> {
    const s = this.services.get(serviceId);
    const d = this.latestDeployment(serviceId);
    if (!s || !d || !['SUCCESS', 'CRASHED'].includes(d.status)) {
      throw new Error(`service ${serviceId} has no deployment to restart`);
    }
    const old = d.process;
    d.process = undefined;
    await old?.stop();
    const proc = await this.host.start({ env: d.variables });
    d.process = proc;
    const outcome = await proc.ready;
    d.status = outcome.state === 'ready' ? 'SUCCESS' : 'CRASHED';
    this.routeLive(s);
    if (outcome.state === 'ready') this.watchExit(s, d, proc);
    return outcome.state === 'ready' ? 'ready' : 'crashed';
  }
}
