import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import {
  createMemoryCreateBudget,
  createRedisCreateBudget,
} from '../../../src/provision/render/create-budget.js';
import { createRenderProvider, type RenderProviderOptions } from '../../../src/provision/render/index.js';
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
import { FakeRender } from '../../fakes/render/server.js';
import type { FakeSupabase } from '../../fakes/supabase/server.js';
import { startSupabaseStore } from '../../fakes/supabase/store.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { rejection } from '../../helpers/errors.js';
import { cleanupPrefix } from '../../helpers/redis.js';

const KEY = 'rnd_key_for_tests';
const OWNER = 'tea-owner1';
const IMAGE = 'ghcr.io/spawnai/runtime:1';

function provider(fake: FakeRender, extra: Partial<RenderProviderOptions> = {}): GuardedProvider {
  return createRenderProvider({
    apiUrl: fake.url,
    apiKey: KEY,
    ownerId: OWNER,
    image: IMAGE,
    plan: 'starter',
    region: 'frankfurt',
    logger: silentLogger(),
    ...extra,
  });
}

providerContract(
  'render (fake)',
  async () => {
    const { fake: supabase, store } = await startSupabaseStore();
    const render = await new FakeRender({ apiKey: KEY, ownerId: OWNER }).start();
    return {
      provider: provider(render),
      store,
      cloud: {
        hold: () => {
          render.hold = true;
        },
        release: () => render.release(),
        held: () => render.heldCount(),
        created: (name) => render.created.filter((n) => n === name).length,
        deployments: (serviceId) => render.deploys.get(serviceId)?.length ?? 0,
        failNextDeployment: (logs) => render.failNextDeploy(logs),
        stop: (serviceId) => render.suspend(serviceId),
        anotherWorker: () => provider(render),
      },
      cleanup: async () => {
        await render.stop();
        await supabase.stop();
      },
    };
  },
  { cloud: true },
);

describe('Render provider against the fake Render', () => {
  let render: FakeRender;
  let supabase: FakeSupabase;
  let store: BundleStore;

  beforeAll(async () => {
    ({ fake: supabase, store } = await startSupabaseStore());
    render = await new FakeRender({ apiKey: KEY, ownerId: OWNER }).start();
  });
  afterAll(async () => {
    await render?.stop();
    await supabase?.stop();
  });

  it('creates an image-backed web service with the bundle variables and a health check', async () => {
    const p = provider(render);
    const sessionId = testSessionId();
    const request = await deployRequest(store, sessionId, helloApp('hi from render'));
    const d = await p.deploy(request);
    await waitForHttpOk(d.url, { timeoutMs: 10_000 });
    const [service] = render.servicesNamed(serviceNameFor(sessionId));
    expect(service).toMatchObject({
      id: d.serviceId,
      ownerId: OWNER,
      imagePath: IMAGE,
      serviceDetails: { url: d.url, runtime: 'image', healthCheckPath: '/' },
    });
    expect(service!.envVars).toEqual({
      BUNDLE_URL: request.bundleUrl,
      BUNDLE_SHA256: request.bundle.sha256,
      PORT: '8080',
      NODE_ENV: 'production',
    });
    expect(request.progress).toContain('Render: deployment live');
    await p.destroy(sessionId);
    expect(render.servicesNamed(serviceNameFor(sessionId))).toEqual([]);
  });

  it('refuses a new service once the hourly budget is spent, saying how long to wait, without calling Render', async () => {
    const p = provider(render, { createBudget: createMemoryCreateBudget(2) });
    const sessions = [testSessionId(), testSessionId()];
    for (const id of sessions) await p.deploy(await deployRequest(store, id, helloApp(id)));
    const third = testSessionId();
    const created = render.created.length;
    expect((await p.refusal(third))?.userMessage).toBe(
      'Render allows 2 new apps per hour; try again in 60 minutes.',
    );
    const e = await rejection(p.deploy(await deployRequest(store, third, helloApp('third'))));
    expect(e).toMatchObject({ code: 'ERR_PROVIDER_QUOTA', kind: 'budget', retryable: false });
    expect(e.userMessage).toBe('Render allows 2 new apps per hour; try again in 60 minutes.');
    expect(render.created.length).toBe(created);
    // A session that already has its service needs no creation: it may still deploy.
    expect(await p.refusal(sessions[0]!)).toBeUndefined();
    const again = await p.deploy(await deployRequest(store, sessions[0]!, helloApp('version two')));
    await waitForHttpOk(again.url, { timeoutMs: 10_000 });
    expect(await probe(again.url)).toEqual({ status: 200, body: 'version two' });
    for (const id of sessions) await p.destroy(id);
  });

  it("turns Render's own 429 on creation into the same clear refusal", async () => {
    const strict = await new FakeRender({ apiKey: KEY, ownerId: OWNER, createsPerHour: 1 }).start();
    try {
      const p = provider(strict);
      const first = testSessionId();
      await p.deploy(await deployRequest(store, first, helloApp('first')));
      const e = await rejection(p.deploy(await deployRequest(store, testSessionId(), helloApp('second'))));
      expect(e.code).toBe('ERR_PROVIDER_QUOTA');
      expect(e.userMessage).toMatch(/^Render allows 20 new apps per hour; try again in (59|60) minutes\.$/);
      expect(strict.rateLimited).toBe(1);
      expect(strict.services.size).toBe(1);
      await p.destroy(first);
    } finally {
      await strict.stop();
    }
  });

  it('counts creations in Redis, shared by every worker', async () => {
    const prefix = uniquePrefix();
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const key = `${prefix}:render:creates:${OWNER}`;
      const a = createRedisCreateBudget(redis, key, 3);
      const b = createRedisCreateBudget(redis, key, 3);
      expect((await a.take()).allowed).toBe(true);
      expect((await b.take()).allowed).toBe(true);
      expect(await a.peek()).toEqual({ remaining: 1, retryAfterMs: 0 });
      expect((await b.take()).allowed).toBe(true);
      const refused = await a.take();
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(3_590_000);
      expect((await b.peek()).remaining).toBe(0);
    } finally {
      await cleanupPrefix(prefix);
      redis.disconnect();
    }
  });

  it('reports a failed deploy with its status and the runtime log (bundle checksum mismatch)', async () => {
    const p = provider(render);
    const sessionId = testSessionId();
    supabase.corruptDownloads = true;
    try {
      const e = await rejection(p.deploy(await deployRequest(store, sessionId, helloApp('never'))));
      expect(e.code).toBe('ERR_DEPLOY_FAILED');
      expect(e.userMessage).toContain('Render reported the deployment update_failed');
      expect(e.userMessage).toContain('bundle checksum mismatch');
    } finally {
      supabase.corruptDownloads = false;
    }
    await p.destroy(sessionId);
    expect(render.servicesNamed(serviceNameFor(sessionId))).toEqual([]);
  });

  it('a deploy triggered while another is in progress (202 Queued, no body) is found and followed to live', async () => {
    const p = provider(render);
    const sessionId = testSessionId();
    const first = await p.deploy(await deployRequest(store, sessionId, helloApp('first version')));
    await waitForHttpOk(first.url, { timeoutMs: 10_000 });
    // Someone redeploys the service from the dashboard; it is still rolling out.
    render.hold = true;
    render.startDeploy(first.serviceId);
    await expect.poll(() => render.heldCount(), { timeout: 10_000 }).toBeGreaterThan(0);

    const change = await deployRequest(store, sessionId, helloApp('second version'), {
      signal: AbortSignal.timeout(30_000),
    });
    const deploying = p.deploy(change);
    await expect
      .poll(() => change.progress.includes('Render: deployment queued behind the one in progress'), {
        timeout: 10_000,
      })
      .toBe(true);
    expect(render.deployTriggers.at(-1)).toBe(202);
    render.release();
    const second = await deploying;
    expect(second.url).toBe(first.url);
    await expect.poll(async () => (await probe(second.url)).body, { timeout: 10_000 }).toBe('second version');
    const live = render.deploys.get(second.serviceId)!.filter((d) => d.status === 'live');
    expect(live).toHaveLength(1);
    expect(live[0]!.env.BUNDLE_SHA256).toBe(change.bundle.sha256);
    await p.destroy(sessionId);
  });

  it('creates services of a private runtime image with the registry credential; without it the pull fails', async () => {
    const login = { username: 'spawnai-bot', authToken: 'ghp_registry_token_for_tests' };
    const privateRender = await new FakeRender({
      apiKey: KEY,
      ownerId: OWNER,
      privateImages: { [IMAGE]: login },
    }).start();
    try {
      const refused = await rejection(
        provider(privateRender).deploy(await deployRequest(store, testSessionId(), helloApp('x'))),
      );
      expect(refused.code).toBe('ERR_DEPLOY_FAILED');
      expect(refused.message).toContain('build_failed');
      expect(refused.message).toContain('unauthorized');

      const credential = privateRender.addRegistryCredential(login);
      const p = provider(privateRender, { registryCredentialId: credential });
      const sessionId = testSessionId();
      const d = await p.deploy(await deployRequest(store, sessionId, helloApp('pulled with a credential')));
      await waitForHttpOk(d.url, { timeoutMs: 10_000 });
      expect(privateRender.servicesNamed(serviceNameFor(sessionId))[0]!.registryCredentialId).toBe(
        credential,
      );
      await p.destroy(sessionId);
      // A credential id Render does not know is refused when the service is created.
      const unknown = await rejection(
        provider(privateRender, { registryCredentialId: 'rgc-unknown' }).deploy(
          await deployRequest(store, testSessionId(), helloApp('x')),
        ),
      );
      expect(unknown.code).toBe('ERR_DEPLOY_FAILED');
      expect(unknown.message).toContain('registry credential not found');
    } finally {
      await privateRender.stop();
    }
  });

  it('pages through every service when listing, keeping only spawn-* ones', async () => {
    const p = provider(render);
    const ours: string[] = [];
    for (let i = 0; i < 105; i++) await render.seedService(`other-${i}`);
    for (let i = 0; i < 3; i++) ours.push((await render.seedService(`spawn-page${i}`)).id);
    const listed = await p.list();
    expect(listed.map((s) => s.serviceId).sort()).toEqual(expect.arrayContaining([...ours].sort()));
    expect(listed.every((s) => s.serviceId && !s.sessionId.startsWith('other'))).toBe(true);
    for (let i = 0; i < 3; i++) await p.destroy(`page${i}`);
    expect((await p.list()).filter((s) => s.sessionId.startsWith('page'))).toEqual([]);
  });

  it('says the API key is wrong without printing it', async () => {
    const p = createRenderProvider({
      apiUrl: render.url,
      apiKey: 'rnd_wrong_123',
      ownerId: OWNER,
      image: IMAGE,
      plan: 'starter',
      region: 'oregon',
      logger: silentLogger(),
    });
    const e = await rejection(p.list());
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.message).toContain('RENDER_API_KEY');
    expect(e.message).not.toContain('rnd_wrong_123');
  });

  it('fails an outage with ERR_PROVIDER_UNAVAILABLE after bounded retries', async () => {
    const p = provider(render);
    render.outage = true;
    try {
      const e = await rejection(p.status(testSessionId()));
      expect(e.code).toBe('ERR_PROVIDER_UNAVAILABLE');
      expect(e.message).toContain('HTTP 503');
    } finally {
      render.outage = false;
    }
  });
});
