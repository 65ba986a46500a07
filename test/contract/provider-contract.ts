import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppFile } from '../../src/build/types.js';
import { packBundle } from '../../src/lib/bundle-codec.js';
import type { DeployRequest, Provider } from '../../src/provision/types.js';
import { waitForHttpOk } from '../../src/provision/wait.js';
import { createLocalBundleStore } from '../../src/storage/local/index.js';
import type { BundleStore } from '../../src/storage/types.js';
import { fetchPreview } from '../helpers/preview.js';

export interface ProviderUnderTest {
  readonly provider: Provider;
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
 * URL that answers, report it, replace it on a redeploy, and remove it idempotently.
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

    it('treats an unknown session as missing, and destroying it as done', async () => {
      const sessionId = testSessionId();
      expect(await provider.status(sessionId)).toBe('missing');
      await provider.destroy(sessionId);
      expect((await provider.list()).some((s) => s.sessionId === sessionId)).toBe(false);
    });
  });
}
