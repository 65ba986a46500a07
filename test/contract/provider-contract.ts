import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppFile } from '../../src/builder/types.js';
import { isSpawnError } from '../../src/errors.js';
import { packBundle } from '../../src/lib/bundle-codec.js';
import { type DeployRequest, type Provider, serviceNameFor } from '../../src/provision/types.js';
import { waitForHttpOk } from '../../src/provision/wait.js';
import { createLocalBundleStore } from '../../src/storage/local/index.js';
import type { BundleStore } from '../../src/storage/types.js';
import { fetchPreview } from '../helpers/preview.js';

/**
 * How the contract steers a cloud's fake from the outside (its test controls, not its API):
 * what a cloud does on its own, a worker dying, the platform failing or stopping an app.
 */
export interface CloudControls {
  /** From now on deployments wait before going live, until {@link release}. */
  hold(): void;
  release(): void;
  /** Deployments waiting now. */
  held(): number;
  /** Services ever created under `name`. */
  created(name: string): number;
  /** Deployments the cloud made for the service. */
  deployments(serviceId: string): number;
  /** The next deployment fails at the cloud, with these lines in its log. */
  failNextDeployment(logs: string[]): void;
  /** The app stops as the cloud reports it (Railway: its deployment crashed; Render: suspended). */
  stop(serviceId: string): Promise<void>;
  /** A second provider on the same cloud with nothing in memory: another worker. */
  anotherWorker(): Provider;
}

export interface ProviderUnderTest {
  readonly provider: Provider;
  /** Required when the contract runs with `cloud: true`. */
  readonly cloud?: CloudControls;
  /** Ends everything the provider started and removes its files. */
  readonly cleanup: () => Promise<void>;
  /**
   * Where the contract puts its bundles; a cloud provider's fake needs one whose signed
   * URLs it can download. Default: a local store in a temp folder.
   */
  readonly store?: BundleStore;
}

export interface ProviderContractOptions {
  /** A redeploy of a session keeps its URL (true for local and for cloud services). Default true. */
  readonly sameUrlOnRedeploy?: boolean;
  /** After destroy, connecting to the URL is refused (local: nothing listens on the port). */
  readonly refusedAfterDestroy?: boolean;
  /** How long a deployed app may take to answer 200. Default 20 s. */
  readonly readyTimeoutMs?: number;
  /** Also run the cloud cases (adopting after a crash, status words), with {@link ProviderUnderTest.cloud}. */
  readonly cloud?: boolean;
}

/** A tiny Node app (built-ins only) that answers every request with `body`. */
export function helloApp(body: string): AppFile[] {
  return [
    {
      path: 'package.json',
      content: `${JSON.stringify({ name: 'hello', scripts: { start: 'node server.js' } })}\n`,
    },
    {
      path: 'server.js',
      content: [
        "const http = require('node:http');",
        'const server = http.createServer((req, res) => {',
        "  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });",
        `  res.end(${JSON.stringify(body)});`,
        '});',
        'server.listen(Number(process.env.PORT));',
        "process.on('SIGTERM', () => server.close(() => process.exit(0)));",
        '',
      ].join('\n'),
    },
  ];
}

let counter = 0;
/** A session id unique to this test run, in the shape of real ones (a letter, then letters and digits). */
export function testSessionId(): string {
  counter += 1;
  return `ct${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Packs `files`, puts them in `store` and makes the request a worker would make. */
export async function deployRequest(
  store: BundleStore,
  sessionId: string,
  files: readonly AppFile[],
  extra: Partial<DeployRequest> = {},
): Promise<DeployRequest & { readonly progress: string[] }> {
  const buildId = `b${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const packed = await packBundle(files);
  const bundle = await store.put(sessionId, buildId, packed.tarball);
  const bundleUrl = await store.signedUrl(bundle.key, 3600);
  const progress: string[] = [];
  return {
    sessionId,
    buildId,
    bundle,
    bundleUrl,
    fetchBundle: () => store.get(bundle.key),
    onProgress: (detail) => progress.push(detail),
    signal: new AbortController().signal,
    progress,
    ...extra,
  };
}

/** GETs `url` once: the status and body, or the error code when there was no answer. */
export async function probe(url: string): Promise<{ status?: number; body?: string; error?: string }> {
  try {
    const res = await fetchPreview(url, { signal: AbortSignal.timeout(3_000) });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    const cause = (e as { cause?: NodeJS.ErrnoException }).cause;
    return { error: cause?.code ?? (e as Error).name };
  }
}

/** Polls until `url` no longer answers 200 with `body`; returns the last probe. */
async function waitUntilGone(url: string, body: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await probe(url);
    if (seen.status !== 200 || seen.body !== body) return seen;
    if (Date.now() > deadline) throw new Error(`${url} still serves the app ${timeoutMs} ms after destroy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * What every Provider (local, and the Railway and Render fakes) must do: deploy a bundle to a
 * URL that answers, report it, replace it on a redeploy, and remove it idempotently. A cloud
 * (`cloud: true`) also adopts what a killed worker left behind and maps its status words.
 */
export function providerContract(
  name: string,
  makeProvider: () => Promise<ProviderUnderTest>,
  options: ProviderContractOptions = {},
): void {
  const sameUrlOnRedeploy = options.sameUrlOnRedeploy ?? true;
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;

  describe(`Provider contract: ${name}`, () => {
    let subject: ProviderUnderTest;
    let provider: Provider;
    let store: BundleStore;
    let storeDir: string | undefined;
    const sessions: string[] = [];

    async function deployed(sessionId: string, body: string) {
      const request = await deployRequest(store, sessionId, helloApp(body));
      const deployment = await provider.deploy(request);
      await waitForHttpOk(deployment.url, { timeoutMs: readyTimeoutMs });
      return { request, deployment };
    }

    function newSession(): string {
      const id = testSessionId();
      sessions.push(id);
      return id;
    }

    beforeAll(async () => {
      subject = await makeProvider();
      provider = subject.provider;
      if (subject.store) {
        store = subject.store;
      } else {
        storeDir = await mkdtemp(path.join(os.tmpdir(), 'spawnai-contract-store-'));
        store = createLocalBundleStore({ dir: storeDir });
      }
    });

    afterEach(async () => {
      // A case that failed while the cloud held its deployments must not hold the next one.
      subject.cloud?.release();
      for (const id of sessions.splice(0)) await provider.destroy(id).catch(() => undefined);
    });

    afterAll(async () => {
      await subject?.cleanup();
      if (storeDir) await rm(storeDir, { recursive: true, force: true });
    });

    it('deploys a bundle to a URL that answers 200 with the app', async () => {
      const sessionId = newSession();
      const { request, deployment } = await deployed(sessionId, `hello from ${sessionId}`);
      expect(deployment.serviceId).toBeTruthy();
      expect(deployment.url).toMatch(/^https?:\/\//);
      expect(request.progress.length).toBeGreaterThan(0);
      expect(await probe(deployment.url)).toEqual({ status: 200, body: `hello from ${sessionId}` });
      expect(await provider.status(sessionId)).toBe('running');
      const services = (await provider.list()).filter((s) => s.sessionId === sessionId);
      expect(services).toHaveLength(1);
      expect(services[0]).toMatchObject({ serviceId: deployment.serviceId, sessionId, running: true });
    });

    it('replaces the app when the same session is deployed again', async () => {
      const sessionId = newSession();
      const first = await deployed(sessionId, 'version one');
      const second = await deployed(sessionId, 'version two');
      expect(second.deployment.serviceId).toBe(first.deployment.serviceId);
      if (sameUrlOnRedeploy) expect(second.deployment.url).toBe(first.deployment.url);
      expect(await probe(second.deployment.url)).toEqual({ status: 200, body: 'version two' });
      const services = (await provider.list()).filter((s) => s.sessionId === sessionId);
      expect(services).toHaveLength(1);
      expect(services[0]?.running).toBe(true);
      expect(await provider.status(sessionId)).toBe('running');
    });

    it('destroys a session: gone from status and list, the URL stops answering; again is fine', async () => {
      const sessionId = newSession();
      const body = `doomed ${sessionId}`;
      const { deployment } = await deployed(sessionId, body);
      await provider.destroy(sessionId);
      expect(await provider.status(sessionId)).toBe('missing');
      expect((await provider.list()).some((s) => s.sessionId === sessionId)).toBe(false);
      const seen = await waitUntilGone(deployment.url, body);
      if (options.refusedAfterDestroy) expect(seen.error).toBe('ECONNREFUSED');
      await provider.destroy(sessionId);
      expect(await provider.status(sessionId)).toBe('missing');
    });

    // Registered only for clouds, so a local run shows no skipped cases.
    if (options.cloud) {
      describe('a cloud provider', () => {
        function cloud(): CloudControls {
          if (!subject.cloud) throw new Error(`${name}: the cloud cases need ProviderUnderTest.cloud`);
          return subject.cloud;
        }

        it('adopts the service and the deployment a killed worker left behind: one service, one creation, one deployment', async () => {
          const sessionId = newSession();
          const request = await deployRequest(store, sessionId, helloApp('adopted'));
          cloud().hold();
          const controller = new AbortController();
          const dying = provider.deploy({ ...request, signal: controller.signal });
          await expect.poll(() => cloud().held(), { timeout: 10_000 }).toBeGreaterThan(0);
          controller.abort(new Error('worker killed'));
          await expect(dying).rejects.toThrow();

          // Another worker (nothing in memory) retries the same deploy while the cloud still deploys.
          const retried = cloud()
            .anotherWorker()
            .deploy({ ...request, signal: AbortSignal.timeout(30_000) });
          await expect
            .poll(() => request.progress.some((p) => p.includes('already runs this version')), {
              timeout: 10_000,
            })
            .toBe(true);
          cloud().release();
          const d = await retried;
          await waitForHttpOk(d.url, { timeoutMs: readyTimeoutMs });
          expect(await probe(d.url)).toEqual({ status: 200, body: 'adopted' });
          expect(cloud().created(serviceNameFor(sessionId))).toBe(1);
          expect(cloud().deployments(d.serviceId)).toBe(1);
          expect((await provider.list()).filter((s) => s.sessionId === sessionId)).toHaveLength(1);
        });

        it("maps the cloud's status words: deploying counts as running, a stopped app is stopped, a failure says its status and log", async () => {
          const sessionId = newSession();
          cloud().hold();
          const first = await deployRequest(store, sessionId, helloApp('first'), {
            signal: AbortSignal.timeout(30_000),
          });
          const deploying = provider.deploy(first);
          await expect.poll(() => cloud().held(), { timeout: 10_000 }).toBeGreaterThan(0);
          // On its way: the reaper must not take it for a stopped app and deploy it again.
          await expect.poll(() => provider.status(sessionId), { timeout: 10_000 }).toBe('running');
          cloud().release();
          const d = await deploying;
          await waitForHttpOk(d.url, { timeoutMs: readyTimeoutMs });
          expect(first.progress.some((p) => /deployment \S/.test(p))).toBe(true);
          expect((await provider.list()).find((s) => s.sessionId === sessionId)?.running).toBe(true);

          await cloud().stop(d.serviceId);
          await expect.poll(() => provider.status(sessionId), { timeout: 10_000 }).toBe('stopped');
          expect((await provider.list()).find((s) => s.sessionId === sessionId)?.running).toBe(false);

          // A new deployment the cloud fails: its status word and the runtime's log in the error.
          const started = '[spawnai-runtime] start: node server.js on port 8080';
          cloud().failNextDeployment([started, 'Error: out of memory']);
          let failed: unknown;
          await provider.deploy(await deployRequest(store, sessionId, helloApp('second'))).catch((e) => {
            failed = e;
          });
          if (!isSpawnError(failed)) throw new Error(`expected a SpawnError, got ${String(failed)}`);
          expect(failed.code).toBe('ERR_DEPLOY_FAILED');
          expect(failed.message).toMatch(/ reported the deployment \S+\. Last lines of its log:\n/);
          expect(failed.message).toContain('Error: out of memory');
          expect(failed.startup?.logTail).toContain('Error: out of memory');
        });
      });
    }

    it('treats an unknown session as missing, and destroying it as done', async () => {
      const sessionId = testSessionId();
      expect(await provider.status(sessionId)).toBe('missing');
      await provider.destroy(sessionId);
      expect((await provider.list()).some((s) => s.sessionId === sessionId)).toBe(false);
    });
  });
}
