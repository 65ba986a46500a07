import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingGuard } from '../../../src/billing/guard.js';
import { resolvePlans } from '../../../src/billing/plans.js';
import { SpendEstimator } from '../../../src/billing/spend.js';
import { loadConfig } from '../../../src/config/index.js';
import { conversationKey } from '../../../src/core/platform.js';
import { SpawnError } from '../../../src/errors.js';
import { SlidingWindowLimiter } from '../../../src/lib/rate-limiter.js';
import type { FakeStripe } from '../../fakes/stripe/server.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { openTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';
import { startFakeStripe, stripeEnv } from '../../helpers/stripe.js';
import { WebChatClient } from '../../helpers/web-client.js';

describe('sliding window per user (Redis)', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('allows exactly max hits per window, says when the next one fits, and frees up as time passes', async () => {
    const limiter = new SlidingWindowLimiter(redis, prefix);
    const t0 = 1_000_000;
    expect((await limiter.hit('u1', 3, 1000, t0)).allowed).toBe(true);
    expect((await limiter.hit('u1', 3, 1000, t0 + 100)).allowed).toBe(true);
    expect((await limiter.hit('u1', 3, 1000, t0 + 200)).allowed).toBe(true);
    expect(await limiter.hit('u1', 3, 1000, t0 + 300)).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterMs: 700,
    });
    expect((await limiter.hit('u2', 3, 1000, t0 + 300)).allowed).toBe(true); // per user
    expect((await limiter.hit('u1', 3, 1000, t0 + 999)).allowed).toBe(false);
    expect((await limiter.hit('u1', 3, 1000, t0 + 1001)).allowed).toBe(true); // the first hit left the window
  });
});

describe('spend cap at its boundary', () => {
  let db: TestDatabase;
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  beforeAll(async () => {
    db = await openTestDatabase('pglite');
  });
  afterAll(async () => {
    await db.drop();
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('refuses the build that would go over the monthly cap, with the numbers, and allows one that reaches it', async () => {
    // Output $15/Mtok, input $3/Mtok: a 10k-token build may cost 10k*15 + 20k*3 = $0.21.
    const config = loadConfig({
      PLANS_JSON: JSON.stringify({ free: { monthlyCapUsd: 1, maxOutputTokens: 10_000 } }),
    });
    const limits = resolvePlans(config).free;
    const guard = createBillingGuard(
      config,
      new SlidingWindowLimiter(redis, prefix),
      new SpendEstimator(config, true),
    );
    const { user } = await db.repos.users.upsertByIdentity({
      platform: 'web',
      teamId: '',
      platformUserId: 'spender',
      displayName: 'S',
    });
    const conversation = { platform: 'web' as const, teamId: '', channelId: 'spender' };
    const session = await db.repos.sessions.create({
      id: 'spend00001',
      userId: user.id,
      platform: 'web',
      conversationKey: conversationKey(conversation),
      conversation,
      prompt: 'p',
      provider: 'local',
      ttlMinutes: 60,
    });
    const build = await db.repos.builds.createOnce({
      sessionId: session.id,
      iteration: 1,
      requestKey: 'k1',
      jobId: 'j',
      prompt: 'p',
      builder: 'claude',
    });
    // The next build's ceiling at Claude Sonnet 5.5's prices: 10 000 output tokens at $10 and
    // 20 000 input tokens at $2 per million, $0.14.
    await db.repos.builds.update(build!.id, { costMicroUsd: 860_000 });

    const ctx = { tx: db.repos, user, limits, provider: 'local' as const };
    await expect(guard.check(ctx)).resolves.toBeUndefined(); // 0.86 + 0.14 = 1.00: at the cap, allowed

    await db.repos.builds.update(build!.id, { costMicroUsd: 860_001 });
    const refused = await guard.check(ctx).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SpawnError);
    expect((refused as SpawnError).code).toBe('ERR_SPEND_CAP');
    expect((refused as SpawnError).userMessage).toBe(
      'This build could cost up to $0.14; you have spent $0.86 of your $1.00 monthly limit on the free plan.',
    );
  });
});

describe('limits through the web chat', () => {
  let stripe: FakeStripe;
  let t: TestApp;
  beforeAll(async () => {
    stripe = await startFakeStripe();
    t = await startTestApp({
      ...stripeEnv(stripe),
      FREE_LIVE_SESSIONS: '20',
      PLANS_JSON: JSON.stringify({ free: { spawnsPerHour: 2 } }),
      RATE_LIMIT_PER_IP_PER_MINUTE: '40',
    });
  });
  afterAll(async () => {
    await t?.stop();
    await stripe?.stop();
  });

  it('a person over the plan rate is told when to try again; nothing is started', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const a = await client.send('/spawn a guestbook');
    const b = await client.send('/spawn a blog');
    expect([a.spawn?.duplicate, b.spawn?.duplicate]).toEqual([false, false]);
    const c = await client.send('/spawn a todo list');
    expect(c.spawn).toBeUndefined();
    expect(c.replies[0]!.view.text).toMatch(
      /You have sent 2 requests in the last hour, the most the free plan allows\. Try again in (59|60) min\./,
    );
    expect(
      (await client.raw('/api/web/sessions').then((r) => r.json())) as { sessions: unknown[] },
    ).toMatchObject({ sessions: [{}, {}] });
  });

  it('one address over the per-IP limit gets 429 with Retry-After; health checks are never limited', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await client.raw('/api/web/sessions');
      if (res.status === 429) limited = res;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited!.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'ERR_RATE_LIMITED',
      message: expect.stringMatching(/Too many requests from your address; try again in \d+ s\./),
    });
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
  });
});
