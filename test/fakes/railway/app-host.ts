import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../../src/util/free-port.js';

/**
 * What the Railway and Render fakes share: the machine a cloud provider would be. Each
 * deployment runs the real runtime bootstrap (runtime/bootstrap.mjs) as a local process that
 * downloads the bundle from the URL it was given, checks it and starts it on its own port;
 * each service gets a stable address (a small proxy on its own port, like the provider's edge)
 * that forwards to the service's live deployment.
 */

export const BOOTSTRAP = path.resolve(import.meta.dirname, '..', '..', '..', 'runtime', 'bootstrap.mjs');
/** Lines of output kept per deployment. */
const LOG_LINES_KEPT = 200;
/** How long a deployment may take to answer before it counts as failed. */
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 50;

export interface RunningDeployment {
  readonly port: number;
  /** Its output (bootstrap and app), line by line. */
  readonly logs: string[];
  /** Resolves when it answers (`'ready'`) or ends first (`'exited'`, with its code). */
  readonly ready: Promise<
    { readonly state: 'ready' } | { readonly state: 'exited'; readonly code: number | null }
  >;
  /** Resolves when the process ends, whenever that is. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The variables the provider would set (BUNDLE_URL, BUNDLE_SHA256, ...); PORT is replaced. */
  readonly env: Readonly<Record<string, string>>;
  /** When set, ready means GET <path> answers 2xx/3xx (Render's health check); else the port accepts. */
  readonly healthCheckPath?: string;
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function httpHealthy(port: number, healthPath: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${healthPath}`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}

export class AppHost {
  private readonly processes = new Set<ChildProcess>();
  private readonly routes = new Map<string, { server: Server; port: number; target: number | undefined }>();
  private readonly dirs = new Set<string>();

  /** Runs one deployment: the bootstrap with the provider's variables, on a fresh port and folder. */
  async start(options: StartOptions): Promise<RunningDeployment> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'spawnai-fake-cloud-'));
    this.dirs.add(dir);
    const child = spawn(process.execPath, [BOOTSTRAP], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        ...options.env,
        PORT: String(port),
        APP_DIR: path.join(dir, 'app'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.processes.add(child);
    const logs: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        logs.push(line);
        if (logs.length > LOG_LINES_KEPT) logs.shift();
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        this.processes.delete(child);
        resolve(code);
      });
    });
    let done = false;
    void exited.then(() => {
      done = true;
    });
    const ready = (async () => {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (Date.now() < deadline) {
        if (done) return { state: 'exited' as const, code: await exited };
        const ok = options.healthCheckPath
          ? await httpHealthy(port, options.healthCheckPath)
          : await tcpAccepts(port);
        if (ok) return { state: 'ready' as const };
        await new Promise((r) => setTimeout(r, READY_POLL_MS));
      }
      killGroup(child, 'SIGKILL');
      return { state: 'exited' as const, code: await exited };
    })();
    const stop = async () => {
      if (!done) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      this.dirs.delete(dir);
    };
    return { port, logs, ready, exited, stop };
  }

  /** A stable address for `key` (a service); answers 503 until {@link route} points it somewhere. */
  async openRoute(key: string): Promise<number> {
    const existing = this.routes.get(key);
    if (existing) return existing.port;
    const port = await freePort();
    const entry = { server: createServer(), port, target: undefined as number | undefined };
    entry.server.on('request', (req, res) => {
      if (entry.target === undefined) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('no deployment is live for this service');
        return;
      }
      const upstream = httpRequest(
        { host: '127.0.0.1', port: entry.target, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('the application failed to respond');
      });
      req.pipe(upstream);
    });
    this.routes.set(key, entry);
    await new Promise<void>((resolve) => entry.server.listen(port, '127.0.0.1', resolve));
    return port;
  }

  route(key: string, target: number | undefined): void {
    const entry = this.routes.get(key);
    if (entry) entry.target = target;
  }

  /** The address stops answering at all (connection refused), as a deleted service's does. */
  async closeRoute(key: string): Promise<void> {
    const entry = this.routes.get(key);
    if (!entry) return;
    this.routes.delete(key);
    entry.server.closeAllConnections();
    await new Promise((r) => entry.server.close(r));
  }

  async stopAll(): Promise<void> {
    for (const child of this.processes) killGroup(child, 'SIGKILL');
    for (const key of [...this.routes.keys()]) await this.closeRoute(key);
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs.clear();
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
