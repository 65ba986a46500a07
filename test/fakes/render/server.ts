import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppHost } from '../railway/app-host.js';
import {
  type FakeDeployStatus,
  type FakeRegistryCredential,
  type FakeRenderDeploy,
  type FakeRenderOptions,
  type FakeRenderService,
  IN_PROGRESS,
  Window,
} from './model.js';
import { logsView, readServiceCreate, type ServiceSpec } from './requests.js';

export type { FakeDeployStatus, FakeRenderDeploy, FakeRenderOptions, FakeRenderService };

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const CREATED_MS = 30;

const id = (prefix: string) => `${prefix}-${randomBytes(10).toString('hex')}`;

/**
 * A local Render REST API (`/v1`): services (image-backed web services), env vars, deploys,
 * logs and owners, with Bearer auth, `{id, message}` errors, list items wrapped as
 * `{<item>, cursor}`, and Render's rate limits (20 creations per hour, 10 deploys per minute
 * per service, 30 other writes and 400 reads per minute) answered with 429 and
 * `Ratelimit-Limit/Remaining/Reset`. Deploys move created → update_in_progress → live |
 * update_failed, each running the real runtime bootstrap; `live` needs the health check path
 * to answer 2xx/3xx. Each service's URL is a local address forwarding to its live deploy.
 * A deploy triggered while another is in progress is queued and answered 202 without a body.
 *
 * Sources: https://api-docs.render.com/reference/create-deploy (201 or 202 Queued),
 * https://api-docs.render.com/reference/create-service (`image.registryCredentialId`),
 * https://api-docs.render.com/reference/rate-limiting (limits and `Ratelimit-*` headers),
 * https://api-docs.render.com/reference/pagination (`[{<item>, cursor}]`).
 */
export class FakeRender {
  readonly services = new Map<string, FakeRenderService>();
  readonly deploys = new Map<string, FakeRenderDeploy[]>();
  /** Names of every service ever created. */
  readonly created: string[] = [];
  readonly deleted: string[] = [];
  /** Every `method path` received, in order. */
  readonly requests: string[] = [];
  /** Requests answered 429. */
  rateLimited = 0;
  outage = false;
  hold = false;
  private readonly held: (() => void)[] = [];
  private readonly failures: { logs: string[] }[] = [];
  private readonly creates: Window;
  private readonly reads: Window;
  private readonly writes: Window;
  private readonly deployWindows = new Map<string, Window>();
  /** Per service: the deploys run one after another; a trigger during one waits its turn. */
  private readonly chains = new Map<string, Promise<void>>();
  /** The owner's registry credentials, by id. */
  readonly registryCredentials = new Map<string, FakeRegistryCredential>();
  /** Status of every `POST /services/{id}/deploys` answered, in order. */
  readonly deployTriggers: number[] = [];
  private readonly host = new AppHost();
  private server: Server | undefined;
  url = '';

  constructor(readonly options: FakeRenderOptions) {
    this.creates = new Window(options.createsPerHour ?? 20, HOUR_MS);
    this.reads = new Window(options.readsPerMinute ?? 400, MINUTE_MS);
    this.writes = new Window(options.writesPerMinute ?? 30, MINUTE_MS);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.send(res, 500, { id: 'internal', message: String(e) });
        else res.end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async stop(): Promise<void> {
    this.release();
    await this.host.stopAll();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  release(): void {
    this.hold = false;
    for (const go of this.held.splice(0)) go();
  }

  heldCount(): number {
    return this.held.length;
  }

  /** A registry credential the operator made in the dashboard; returns its id. */
  addRegistryCredential(login: { username: string; authToken: string }): string {
    const credential: FakeRegistryCredential = {
      id: id('rgc'),
      ownerId: this.options.ownerId,
      name: 'runtime image',
      registry: 'GITHUB',
      ...login,
    };
    this.registryCredentials.set(credential.id, credential);
    return credential.id;
  }

  /** A deploy not made by SpawnAI (the dashboard, an auto-deploy); it waits while `hold` is set. */
  startDeploy(serviceId: string): FakeRenderDeploy {
    const service = this.services.get(serviceId);
    if (!service) throw new Error(`no service ${serviceId}`);
    return this.deploy(service);
  }

  /**
   * The service is suspended (the dashboard, or `POST /services/{id}/suspend`,
   * https://api-docs.render.com/reference/suspend-service): it stays listed with
   * `suspended: "suspended"`, its instance stops and its URL no longer reaches the app.
   */
  async suspend(serviceId: string): Promise<void> {
    const service = this.services.get(serviceId);
    if (!service) throw new Error(`no service ${serviceId}`);
    service.suspended = 'suspended';
    this.host.route(serviceId, undefined);
    for (const d of this.deploys.get(serviceId) ?? []) await d.process?.stop();
  }

  /** The next deploy fails (update_failed) with these log lines instead of starting. */
  failNextDeploy(logs: string[]): void {
    this.failures.push({ logs });
  }

  servicesNamed(name: string): FakeRenderService[] {
    return [...this.services.values()].filter((s) => s.name === name);
  }

  /** A service made outside SpawnAI's knowledge; does not count against the creation limit. */
  async seedService(name: string): Promise<FakeRenderService> {
    return this.createService(
      {
        name,
        imagePath: 'ghcr.io/spawnai/runtime:1',
        registryCredentialId: undefined,
        envVars: {},
        healthCheckPath: '/',
      },
      false,
    );
  }

  // ---- HTTP ----

  private send(res: ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private limited(res: ServerResponse, window: Window): boolean {
    const r = window.hit();
    res.setHeader('Ratelimit-Limit', String(window.limit));
    res.setHeader('Ratelimit-Remaining', String(r.remaining));
    res.setHeader('Ratelimit-Reset', String(r.resetSeconds));
    if (r.allowed) return false;
    this.rateLimited += 1;
    this.send(res, 429, { id: 'rate-limited', message: 'rate limit exceeded' });
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/^\/v1/, '');
    this.requests.push(`${method} ${path}`);
    if (!url.pathname.startsWith('/v1/'))
      return this.send(res, 404, { id: 'not-found', message: 'not found' });
    if (this.outage) return this.send(res, 503, { id: 'unavailable', message: 'service unavailable' });
    if (req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return this.send(res, 401, { id: 'unauthorized', message: 'unauthorized' });
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown;
    if (chunks.length > 0) {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return this.send(res, 400, { id: 'bad-request', message: 'content type must be application/json' });
      }
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return this.send(res, 400, { id: 'bad-request', message: 'invalid JSON body' });
      }
    }
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);

    if (method === 'GET') {
      if (this.limited(res, this.reads)) return;
    } else if (!(method === 'POST' && parts.length === 1 && parts[0] === 'services')) {
      const perService = parts[0] === 'services' && parts[2] === 'deploys' && method === 'POST';
      if (!perService && this.limited(res, this.writes)) return;
    }

    if (parts[0] === 'owners') {
      if (parts.length === 1) {
        return this.send(res, 200, [
          { owner: { id: this.options.ownerId, name: 'SpawnAI', type: 'team' }, cursor: 'o1' },
        ]);
      }
      if (parts[1] !== this.options.ownerId)
        return this.send(res, 404, { id: 'not-found', message: 'owner not found' });
      return this.send(res, 200, { id: this.options.ownerId, name: 'SpawnAI', type: 'team' });
    }
    if (parts[0] === 'logs' && method === 'GET') return this.logs(res, url);
    if (parts[0] === 'registrycredentials' && parts.length === 2 && method === 'GET') {
      const credential = this.registryCredentials.get(parts[1]!);
      if (!credential)
        return this.send(res, 404, { id: 'not-found', message: 'registry credential not found' });
      const { authToken: _secret, ownerId: _owner, ...shown } = credential;
      return this.send(res, 200, { ...shown, updatedAt: new Date().toISOString() });
    }
    if (parts[0] !== 'services') return this.send(res, 404, { id: 'not-found', message: 'not found' });

    if (parts.length === 1) {
      if (method === 'GET') return this.list(res, url);
      if (method === 'POST') return this.create(res, body);
      return this.send(res, 405, { id: 'method', message: 'method not allowed' });
    }
    const service = this.services.get(parts[1]!);
    if (!service) return this.send(res, 404, { id: 'not-found', message: 'service not found' });
    if (parts.length === 2) {
      if (method === 'GET') return this.send(res, 200, service);
      if (method === 'DELETE') {
        await this.deleteService(service);
        return this.send(res, 204);
      }
      return this.send(res, 405, { id: 'method', message: 'method not allowed' });
    }
    if (parts[2] === 'env-vars' && parts.length === 3) {
      if (method === 'PUT') {
        if (!Array.isArray(body))
          return this.send(res, 400, { id: 'bad-request', message: 'expected an array' });
        const next: Record<string, string> = {};
        for (const e of body as { key?: unknown; value?: unknown }[]) {
          if (typeof e.key !== 'string' || typeof e.value !== 'string') {
            return this.send(res, 400, { id: 'bad-request', message: 'each env var needs key and value' });
          }
          next[e.key] = e.value;
        }
        service.envVars = next;
      } else if (method !== 'GET') {
        return this.send(res, 405, { id: 'method', message: 'method not allowed' });
      }
      return this.send(
        res,
        200,
        Object.entries(service.envVars).map(([key, value]) => ({ envVar: { key, value }, cursor: key })),
      );
    }
    if (parts[2] === 'deploys') {
      const list = this.deploys.get(service.id) ?? [];
      if (parts.length === 3 && method === 'GET') {
        const limit = Math.min(100, Number(url.searchParams.get('limit') ?? '20'));
        const newest = [...list].reverse().slice(0, limit);
        return this.send(
          res,
          200,
          newest.map((d) => ({ deploy: this.deployView(d), cursor: d.id })),
        );
      }
      if (parts.length === 3 && method === 'POST') {
        let window = this.deployWindows.get(service.id);
        if (!window) {
          window = new Window(this.options.deploysPerMinute ?? 10, MINUTE_MS);
          this.deployWindows.set(service.id, window);
        }
        if (this.limited(res, window)) return;
        // "Trigger deploy" answers 202 Queued, without a body, when a deploy of the service is
        // in progress; the new one runs after it (https://api-docs.render.com/reference/create-deploy).
        const busy = list.some((d) => IN_PROGRESS.has(d.status));
        const d = this.deploy(service);
        this.deployTriggers.push(busy ? 202 : 201);
        if (busy) return this.send(res, 202);
        return this.send(res, 201, this.deployView(d));
      }
      if (parts.length === 4 && method === 'GET') {
        const d = list.find((x) => x.id === parts[3]);
        if (!d) return this.send(res, 404, { id: 'not-found', message: 'deploy not found' });
        return this.send(res, 200, this.deployView(d));
      }
    }
    return this.send(res, 404, { id: 'not-found', message: 'not found' });
  }

  private list(res: ServerResponse, url: URL): void {
    const name = url.searchParams.get('name');
    const owner = url.searchParams.get('ownerId');
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? '20')));
    const all = [...this.services.values()].filter(
      (s) => (!name || s.name === name) && (!owner || s.ownerId === owner),
    );
    const cursor = url.searchParams.get('cursor');
    const start = cursor ? all.findIndex((s) => s.id === cursor) + 1 : 0;
    const page = all.slice(start, start + limit);
    this.send(
      res,
      200,
      page.map((s) => ({ service: s, cursor: s.id })),
    );
  }

  private async create(res: ServerResponse, body: unknown): Promise<void> {
    const spec = readServiceCreate(body, this.options.ownerId, this.registryCredentials);
    if ('status' in spec) return this.send(res, spec.status, spec.body);
    if (this.limited(res, this.creates)) return;
    const service = await this.createService(spec, true);
    const first = this.deploys.get(service.id)?.[0];
    this.send(res, 201, { service, deployId: first?.id });
  }

  private logs(res: ServerResponse, url: URL): void {
    const resource = url.searchParams.get('resource');
    const list = resource ? (this.deploys.get(resource) ?? []) : [];
    this.send(res, 200, logsView(list, resource, Number(url.searchParams.get('limit') ?? '20')));
  }

  private deployView(d: FakeRenderDeploy) {
    return { id: d.id, status: d.status, trigger: 'api', createdAt: d.createdAt, finishedAt: d.finishedAt };
  }

  private async createService(spec: ServiceSpec, deploy: boolean): Promise<FakeRenderService> {
    const serviceId = id('srv');
    const port = await this.host.openRoute(serviceId);
    const service: FakeRenderService = {
      id: serviceId,
      name: spec.name,
      ownerId: this.options.ownerId,
      type: 'web_service',
      imagePath: spec.imagePath,
      registryCredentialId: spec.registryCredentialId,
      envVars: { ...spec.envVars },
      suspended: 'not_suspended',
      serviceDetails: {
        url: `http://127.0.0.1:${port}`,
        runtime: 'image',
        plan: 'starter',
        region: 'oregon',
        healthCheckPath: spec.healthCheckPath,
        numInstances: 1,
      },
      createdAt: new Date().toISOString(),
    };
    this.services.set(service.id, service);
    this.deploys.set(service.id, []);
    this.created.push(service.name);
    if (deploy) this.deploy(service);
    return service;
  }

  private async deleteService(s: FakeRenderService): Promise<void> {
    this.services.delete(s.id);
    this.deleted.push(s.id);
    for (const d of this.deploys.get(s.id) ?? []) await d.process?.stop();
    await this.host.closeRoute(s.id);
  }

  private deploy(s: FakeRenderService): FakeRenderDeploy {
    const list = this.deploys.get(s.id)!;
    const d: FakeRenderDeploy = {
      id: id('dep'),
      serviceId: s.id,
      status: list.some((x) => IN_PROGRESS.has(x.status)) ? 'queued' : 'created',
      env: { ...s.envVars },
      createdAt: new Date().toISOString(),
      finishedAt: null,
      logs: [],
      process: undefined,
    };
    list.push(d);
    const chain = (this.chains.get(s.id) ?? Promise.resolve()).then(() => this.run(s, d)).catch(() => {});
    this.chains.set(s.id, chain);
    return d;
  }

  private async run(s: FakeRenderService, d: FakeRenderDeploy): Promise<void> {
    if (d.status === 'canceled') return;
    d.env = { ...s.envVars };
    d.status = 'created';
    await new Promise((r) => setTimeout(r, CREATED_MS));
    d.status = 'update_in_progress';
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (!this.services.has(s.id)) return;
    const failure = this.failures.shift();
    if (failure) {
      d.logs = failure.logs;
      d.status = 'update_failed';
      d.finishedAt = new Date().toISOString();
      return;
    }
    // An image service pulls its image in the build step: a private one needs its credential.
    const login = this.options.privateImages?.[s.imagePath];
    const given = s.registryCredentialId ? this.registryCredentials.get(s.registryCredentialId) : undefined;
    if (login && (given?.username !== login.username || given?.authToken !== login.authToken)) {
      d.logs = [`error pulling image ${s.imagePath}: unauthorized: authentication required`];
      d.status = 'build_failed';
      d.finishedAt = new Date().toISOString();
      return;
    }
    const proc = await this.host.start({
      env: d.env,
      ...(s.serviceDetails.healthCheckPath ? { healthCheckPath: s.serviceDetails.healthCheckPath } : {}),
    });
    d.process = proc;
    const outcome = await proc.ready;
    d.finishedAt = new Date().toISOString();
    if (!this.services.has(s.id)) {
      await proc.stop();
      return;
    }
    if (outcome.state === 'exited') {
      d.status = 'update_failed';
      return;
    }
    d.status = 'live';
    for (const other of this.deploys.get(s.id) ?? []) {
      if (other !== d && other.status === 'live') {
        other.status = 'deactivated';
        void other.process?.stop();
      }
    }
    this.host.route(s.id, proc.port);
  }
}
