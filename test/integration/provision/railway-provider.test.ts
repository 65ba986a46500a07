import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../src/lib/circuit-breaker.js';
import { silentLogger } from '../../../src/log.js';
import { createRailwayProvider, type RailwayProviderOptions } from '../../../src/provision/railway/index.js';
import type { GuardedProvider } from '../../../src/provision/resilience/guarded.js';
import { serviceNameFor } from '../../../src/provision/types.js';
import { waitForHttpOk } from '../../../src/provision/wait.js';
import type { BundleStore } from '../../../src/storage/types.js';
import {
  deployRequest,
  helloApp,
  probe,
  providerContract,
  testSessionId,
} from '../../contract/provider-contract.js';
import { FakeRailway } from '../../fakes/railway/server.js';
import type { FakeSupabase } from '../../fakes/supabase/server.js';
import { startSupabaseStore } from '../../fakes/supabase/store.js';
import { rejection } from '../../helpers/errors.js';

const TOKEN = 'railway-token-for-tests';
const PROJECT = 'proj-1';
const ENV = 'env-1';
const IMAGE = 'ghcr.io/spawnai/runtime:1';

function provider(fake: FakeRailway, extra: Partial<RailwayProviderOptions> = {}): GuardedProvider {
  return createRailwayProvider({
    apiUrl: fake.url,
    token: TOKEN,
    projectId: PROJECT,
    environmentId: ENV,
    image: IMAGE,
    logger: silentLogger(),
    ...extra,
  });
}

providerContract(
  'railway (fake)',
  async () => {
    const { fake: supabase, store } = await startSupabaseStore();
    const railway = await new FakeRailway({ token: TOKEN, projectId: PROJECT, environmentId: ENV }).start();
    return {
      provider: provider(railway),
      store,
      cloud: {
        hold: () => {
          railway.hold = true;
        },
        release: () => railway.release(),
        held: () => railway.heldCount(),
        created: (name) => railway.created.filter((n) => n === name).length,
        deployments: (serviceId) => railway.services.get(serviceId)?.deploymentIds.length ?? 0,
        failNextDeployment: (logs) => railway.failNextDeployment('CRASHED', logs),
        stop: (serviceId) => railway.crash(serviceId),
        anotherWorker: () => provider(railway),
      },
      cleanup: async () => {
        await railway.stop();
        await supabase.stop();
      },
    };
  },
  { cloud: true },
);

describe('Railway provider against the fake Railway', () => {
  let railway: FakeRailway;
  let supabase: FakeSupabase;
  let store: BundleStore;

  beforeAll(async () => {
    ({ fake: supabase, store } = await startSupabaseStore());
    railway = await new FakeRailway({ token: TOKEN, projectId: PROJECT, environmentId: ENV }).start();
  });
  afterAll(async () => {
    await railway?.stop();
    await supabase?.stop();
  });

  it('creates the service from the runtime image with the bundle variables, and a domain', async () => {
    const p = provider(railway);
    const sessionId = testSessionId();
    const request = await deployRequest(store, sessionId, helloApp('hi from railway'));
    const d = await p.deploy(request);
    await waitForHttpOk(d.url, { timeoutMs: 10_000 });
    const [service] = railway.servicesNamed(serviceNameFor(sessionId));
    expect(service).toMatchObject({ id: d.serviceId, image: IMAGE });
    expect(service!.variables).toEqual({
      BUNDLE_URL: request.bundleUrl,
      BUNDLE_SHA256: request.bundle.sha256,
      PORT: '8080',
      NODE_ENV: 'production',
    });
    expect(d.url).toBe(`http://${service!.domain!.domain}`);
    expect(request.progress).toContain('Railway: creating the service');
    expect(request.progress).toContain('Railway: deployment success');
    // The bundle was fetched by the runtime through its signed URL.
    expect(supabase.signedDownloads).toContain(request.bundle.key);
    expect(await p.status(sessionId)).toBe('running');
    expect((await p.list()).map((s) => s.sessionId)).toContain(sessionId);
    await p.destroy(sessionId);
    expect(railway.servicesNamed(serviceNameFor(sessionId))).toEqual([]);
    // Services are read through environment.serviceInstances, never the deprecated Service field.
    expect(railway.deprecatedFields).toEqual([]);
  });

  it('waits out Railway rate limits (429 + Retry-After) instead of failing', async () => {
    // A Railway that allows 4 requests per second, and three sessions deployed at once.
    const strict = await new FakeRailway({
      token: TOKEN,
      projectId: PROJECT,
      environmentId: ENV,
      perSecond: 4,
    }).start();
    try {
      const p = provider(strict);
      const sessions = [testSessionId(), testSessionId(), testSessionId()];
      const deployments = await Promise.all(
        sessions.map(async (id) => p.deploy(await deployRequest(store, id, helloApp(id)))),
      );
      expect(strict.rateLimited).toBeGreaterThan(0);
      for (const [i, d] of deployments.entries()) {
        await waitForHttpOk(d.url, { timeoutMs: 10_000 });
        expect(await probe(d.url)).toEqual({ status: 200, body: sessions[i] });
      }
      for (const id of sessions) await p.destroy(id);
      expect(strict.services.size).toBe(0);
    } finally {
      await strict.stop();
    }
  });

  it('reports a failed deployment with its status and the runtime log, e.g. a bundle that fails its checksum', async () => {
    const p = provider(railway);
    const sessionId = testSessionId();
    const request = await deployRequest(store, sessionId, helloApp('never served'));
    supabase.corruptDownloads = true;
    try {
      const e = await rejection(p.deploy(request));
      expect(e.code).toBe('ERR_DEPLOY_FAILED');
      expect(e.retryable).toBe(false);
      expect(e.userMessage).toContain('Railway reported the deployment FAILED');
      expect(e.userMessage).toContain('bundle checksum mismatch');
      // The signed URL (its token) never reaches a message.
      expect(e.userMessage).not.toContain('token=');
    } finally {
      supabase.corruptDownloads = false;
    }
    await p.destroy(sessionId);
    expect(railway.servicesNamed(serviceNameFor(sessionId))).toEqual([]);
  });

  it('tells the provider-reported failure reason (FAILED with log lines)', async () => {
    const p = provider(railway);
    const sessionId = testSessionId();
    const started = '[spawnai-runtime] start: node server.js on port 8080';
    railway.failNextDeployment('CRASHED', ['Starting Container', started, 'Error: out of memory']);
    const e = await rejection(p.deploy(await deployRequest(store, sessionId, helloApp('x'))));
    expect(e.message).toBe(
      `Railway reported the deployment CRASHED. Last lines of its log:\nStarting Container\n${started}\nError: out of memory`,
    );
    // The app ran and failed: a repair turn may fix it.
    expect(e.startup?.logTail).toContain('Error: out of memory');
    await p.destroy(sessionId);
  });

  it('removes extra copies of a session service left by an older bug', async () => {
    const p = provider(railway);
    const sessionId = testSessionId();
    await railway.seedService(serviceNameFor(sessionId));
    await railway.seedService(serviceNameFor(sessionId));
    const d = await p.deploy(await deployRequest(store, sessionId, helloApp('one copy')));
    await waitForHttpOk(d.url, { timeoutMs: 10_000 });
    expect(railway.servicesNamed(serviceNameFor(sessionId)).map((s) => s.id)).toEqual([d.serviceId]);
    await p.destroy(sessionId);
  });

  it('lists only spawn-* services', async () => {
    const p = provider(railway);
    const db = await railway.seedService('postgres');
    const orphan = await railway.seedService('spawn-orphan42');
    const listed = await p.list();
    expect(listed.map((s) => s.serviceId)).toContain(orphan.id);
    expect(listed.map((s) => s.serviceId)).not.toContain(db.id);
    expect(listed.find((s) => s.serviceId === orphan.id)).toMatchObject({
      sessionId: 'orphan42',
      running: false,
    });
    await p.destroy('orphan42');
    expect(railway.servicesNamed('spawn-orphan42')).toEqual([]);
    expect(railway.services.has(db.id)).toBe(true);
  });

  it('treats GraphQL errors in a 200 answer as errors: a wrong token is ERR_CONFIG, not retried, not printed', async () => {
    const p = createRailwayProvider({
      apiUrl: railway.url,
      token: 'wrong-token-xyz',
      projectId: PROJECT,
      environmentId: ENV,
      image: IMAGE,
      logger: silentLogger(),
    });
    const before = railway.requests;
    const e = await rejection(p.list());
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.message).toContain('RAILWAY_API_TOKEN');
    expect(e.message).not.toContain('wrong-token-xyz');
    expect(railway.requests - before).toBe(1);
    const unknown = await rejection(
      createRailwayProvider({
        apiUrl: railway.url,
        token: TOKEN,
        projectId: 'no-such-project',
        environmentId: ENV,
        image: IMAGE,
        logger: silentLogger(),
      }).list(),
    );
    expect(unknown.code).toBe('ERR_CONFIG');
    expect(unknown.message).toContain('RAILWAY_PROJECT_ID');
  });

  it('a deployment taken down while it is followed (REMOVING) fails at once with that status', async () => {
    const p = provider(railway, { deployTimeoutMs: 60_000 });
    const sessionId = testSessionId();
    railway.hold = true;
    const request = await deployRequest(store, sessionId, helloApp('never live'));
    const deploying = rejection(p.deploy(request));
    await expect.poll(() => railway.heldCount(), { timeout: 10_000 }).toBeGreaterThan(0);
    const [service] = railway.servicesNamed(serviceNameFor(sessionId));
    // It stays REMOVING for a minute (draining): the deploy must not wait that out.
    railway.removeDeployment(service!.deploymentIds.at(-1)!, 60_000);
    const e = await deploying;
    railway.release();
    expect(e.code).toBe('ERR_DEPLOY_FAILED');
    expect(e.message).toMatch(/^Railway reported the deployment REMOVING/);
    // A live app whose deployment is being removed does not count as running.
    expect(await p.status(sessionId)).toBe('stopped');
    await p.destroy(sessionId);
  });

  it('works with a project token sent as Project-Access-Token, within its own environment only', async () => {
    const projectToken = 'railway-project-token-for-tests';
    const scoped = await new FakeRailway({
      token: TOKEN,
      projectToken,
      projectId: PROJECT,
      environmentId: ENV,
    }).start();
    try {
      const p = provider(scoped, { token: projectToken, tokenType: 'project' });
      const sessionId = testSessionId();
      const d = await p.deploy(await deployRequest(store, sessionId, helloApp('with a project token')));
      await waitForHttpOk(d.url, { timeoutMs: 10_000 });
      expect(await probe(d.url)).toEqual({ status: 200, body: 'with a project token' });
      expect((await p.list()).map((s) => s.sessionId)).toEqual([sessionId]);
      await p.destroy(sessionId);
      expect(scoped.services.size).toBe(0);

      // The same token sent as an account token is refused, and the message says what to set.
      const asBearer = await rejection(provider(scoped, { token: projectToken }).list());
      expect(asBearer.code).toBe('ERR_CONFIG');
      expect(asBearer.message).toContain('RAILWAY_TOKEN_TYPE=project');
      expect(asBearer.message).not.toContain(projectToken);
      // Another environment is out of its reach.
      const elsewhere = await rejection(
        provider(scoped, { token: projectToken, tokenType: 'project', environmentId: 'env-other' }).list(),
      );
      expect(elsewhere.code).toBe('ERR_CONFIG');
      expect(elsewhere.message).toContain('RAILWAY_ENVIRONMENT_ID');
    } finally {
      await scoped.stop();
    }
  });

  it('sends the registry credentials of a private runtime image; without them the image cannot be pulled', async () => {
    const login = { username: 'spawnai-bot', password: 'ghp_registry_token_for_tests' };
    const privateRailway = await new FakeRailway({
      token: TOKEN,
      projectId: PROJECT,
      environmentId: ENV,
      privateImages: { [IMAGE]: login },
    }).start();
    try {
      const refused = await rejection(
        provider(privateRailway).deploy(await deployRequest(store, testSessionId(), helloApp('x'))),
      );
      expect(refused.code).toBe('ERR_DEPLOY_FAILED');
      expect(refused.message).toContain('unauthorized');

      const p = provider(privateRailway, { registryCredentials: login });
      const sessionId = testSessionId();
      const d = await p.deploy(await deployRequest(store, sessionId, helloApp('pulled with a login')));
      await waitForHttpOk(d.url, { timeoutMs: 10_000 });
      expect(privateRailway.servicesNamed(serviceNameFor(sessionId))[0]!.registryCredentials).toEqual(login);
      await p.destroy(sessionId);
    } finally {
      await privateRailway.stop();
    }
  });

  it('refuses a bundle URL it cannot download (the local store) before calling Railway', async () => {
    const p = provider(railway);
    const request = await deployRequest(store, testSessionId(), helloApp('x'));
    const before = railway.requests;
    const e = await rejection(p.deploy({ ...request, bundleUrl: 'file:///tmp/x.tar.gz' }));
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.message).toContain('SUPABASE_URL');
    expect(railway.requests).toBe(before);
  });

  it('opens its circuit after repeated failures: later deploys fail fast, then a trial closes it', async () => {
    const breaker = new CircuitBreaker({ label: 'Railway', failureThreshold: 3, openMs: 500 });
    const p = provider(railway, { breaker });
    const sessionId = testSessionId();
    const request = await deployRequest(store, sessionId, helloApp('after the outage'));
    railway.outage = true;
    try {
      const first = await rejection(p.deploy(request));
      expect(first.code).toBe('ERR_PROVIDER_UNAVAILABLE');
      expect(first.retryable).toBe(true);
      expect(breaker.state).toBe('open');
      expect((await p.refusal(sessionId))?.userMessage).toBe(
        'Railway is unavailable right now; please try again in a few minutes.',
      );
      const before = railway.requests;
      const fast = await rejection(p.deploy(request));
      expect(fast.code).toBe('ERR_PROVIDER_UNAVAILABLE');
      expect(railway.requests).toBe(before);
    } finally {
      railway.outage = false;
    }
    await expect.poll(() => breaker.state, { timeout: 2000 }).toBe('half-open');
    expect(await p.refusal(sessionId)).toBeUndefined();
    const d = await p.deploy(request);
    expect(breaker.state).toBe('closed');
    await waitForHttpOk(d.url, { timeoutMs: 10_000 });
    await p.destroy(sessionId);
  });
});
