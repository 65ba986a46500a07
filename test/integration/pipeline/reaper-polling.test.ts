import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createRailwayProvider } from '../../../src/provision/railway/index.js';
import type { Provider, ProviderName } from '../../../src/provision/types.js';
import { createRedisPollGate } from '../../../src/worker/poll-gate.js';
import { CLOUD_POLL_INTERVAL_MS, type ReapDeps, sweep } from '../../../src/worker/reap-processor.js';
import { FakeRailway } from '../../fakes/railway/server.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * Railway's free plan allows 100 API requests an hour (https://docs.railway.com/reference/public-api);
 * the fake enforces that budget. An hour of scheduled sweeps, one a minute as REAPER_INTERVAL_MS
 * says, runs on a simulated clock while two apps are live on Railway.
 */
const FREE_PLAN_REQUESTS_PER_HOUR = 100;
const MINUTE_MS = 60_000;
const RAILWAY = { token: 'railway-token', projectId: 'proj-poll', environmentId: 'env-poll' };

let t: TestApp;
let railway: FakeRailway;
let redis: Redis;
const prefix = uniquePrefix();

beforeAll(async () => {
  t = await startTestApp();
  railway = await new FakeRailway({ ...RAILWAY, perHour: FREE_PLAN_REQUESTS_PER_HOUR }).start();
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await t?.stop();
  await railway?.stop();
  await cleanupPrefix(prefix);
  redis?.disconnect();
});

/** A live session whose app runs on (the fake) Railway. */
async function liveOnRailway(client: WebChatClient, prompt: string): Promise<string> {
  const sessionId = (await client.send(prompt)).spawn!.sessionId;
  await until('live', async () => (await t.app.repos.sessions.get(sessionId))?.status === 'live');
  await t.app.repos.sessions.update(sessionId, { provider: 'railway' });
  await railway.seedService(`spawn-${sessionId}`, 'SUCCESS');
  return sessionId;
}

describe('reaper polling of a cloud provider', () => {
  it("an hour of scheduled sweeps lists Railway's services once per poll interval, within 10% of the free plan", async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const live = [
      await liveOnRailway(client, 'a todo list for my climbing gym'),
      await liveOnRailway(client, 'a guestbook for the book club'),
    ];

    let now = Date.now();
    const provider = createRailwayProvider({
      apiUrl: railway.url,
      ...RAILWAY,
      image: 'ghcr.io/spawnai/runtime:1',
      logger: silentLogger(),
      now: () => now,
    });
    const deps: ReapDeps = {
      repos: t.app.repos,
      providers: new Map<ProviderName, Provider>([['railway', provider]]),
      store: t.app.store,
      lifecycle: t.app.lifecycle,
      notifier: t.app.notifier,
      queues: t.app.queues,
      logger: silentLogger(),
      deployTimeoutMs: 30_000,
      pollGate: createRedisPollGate(redis, prefix),
      cloudPollIntervalMs: CLOUD_POLL_INTERVAL_MS,
      now: () => now,
    };

    let orphan: string | undefined;
    let orphanGoneAt: number | undefined;
    for (let minute = 0; minute < 60; minute++) {
      now += MINUTE_MS;
      // A service nobody owns shows up at minute 12 (a worker died right after creating it).
      if (minute === 12) orphan = (await railway.seedService('spawn-orphan0polling', 'SUCCESS')).id;
      await sweep(deps, 'schedule');
      if (orphan && orphanGoneAt === undefined && !railway.services.has(orphan)) orphanGoneAt = minute;
    }

    // One listing per 10 minutes (6), plus removing the orphan (its listing and delete, and the
    // fresh listing after it): 9 requests where one listing a minute took 60 or more.
    expect(railway.count('environment')).toBe(6 + 2);
    expect(railway.requests).toBeLessThanOrEqual(0.1 * FREE_PLAN_REQUESTS_PER_HOUR);
    expect(railway.rateLimited).toBe(0);
    // Reconciliation still happens, within one poll interval.
    expect(orphanGoneAt).toBeDefined();
    expect(orphanGoneAt! - 12).toBeLessThanOrEqual(CLOUD_POLL_INTERVAL_MS / MINUTE_MS);
    // The live apps were left alone: running, not redeployed.
    for (const id of live) {
      expect((await t.app.repos.sessions.get(id))?.status).toBe('live');
      expect(railway.servicesNamed(`spawn-${id}`)[0]!.deploymentIds).toHaveLength(1);
    }

    // A start-up or manual sweep always looks.
    const before = railway.requests;
    await sweep(deps, 'manual');
    expect(railway.requests - before).toBe(1);

    // Side by side: the same hour listing at every sweep, as before, spends 60% of the budget.
    const everySweep = { ...deps, pollGate: undefined };
    // (Listings only: the orphan removed above may still be draining in the fake, on its own
    // clock, and be deleted once more.)
    const beforeHour = railway.count('environment');
    for (let minute = 0; minute < 60; minute++) {
      now += MINUTE_MS;
      await sweep(everySweep, 'schedule');
    }
    expect(railway.count('environment') - beforeHour).toBe(60);
  });
});
