import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, slashCommand } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { ACME, ALICE, GENERAL, SIGNING_SECRET } from './harness.js';

/**
 * No worker is running, so every acknowledged command waits on the inbound queue. Past
 * INBOUND_BUSY_DEPTH the route still verifies and queues, but the ack says it will take a while;
 * past INBOUND_MAX_IN_FLIGHT requests at once it answers 503 + Retry-After (Slack delivers
 * those again) and queues nothing for them.
 */
describe('slack: backpressure', () => {
  let fake: FakeSlack;
  let db: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let t: TestApp;

  beforeAll(async () => {
    fake = await new FakeSlack({ signingSecret: SIGNING_SECRET, workspaces: [ACME] }).start();
    db = await createThrowawayPostgres();
    t = await startTestApp(
      {
        DATABASE_URL: db.url,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_BOT_TOKEN: ACME.botToken,
        SLACK_API_URL: fake.apiUrl,
        INBOUND_BUSY_DEPTH: '3',
        INBOUND_MAX_IN_FLIGHT: '2',
      },
      { worker: false },
    );
    fake.signer.targetUrl = `${t.url}/slack/events`;
  });
  afterAll(async () => {
    await t?.stop();
    await fake?.stop();
    await db?.drop();
  });

  const command = (i: number) =>
    slashCommand(fake, { ...ALICE, user: `U0BURST${i}`, channel: GENERAL, text: `a counter number ${i}` });
  const waiting = () => t.app.inbound.queue.getWaitingCount();

  it('tells people it will take a while once the queue is deep, and refuses beyond the in-flight bound', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await fake.signer.command(command(i));
      expect(res.status).toBe(200);
      expect(res.json<{ text: string }>().text).not.toMatch(/Many requests are waiting/);
    }
    expect(await waiting()).toBe(4);
    // The depth is looked at every half second, not on every request.
    await new Promise((r) => setTimeout(r, 1200));
    const busy = await fake.signer.command(command(4));
    expect(busy.status).toBe(200);
    expect(busy.json<{ text: string }>().text).toMatch(
      /(Queued|Got it): a counter number 4[\s\S]*Many requests are waiting/,
    );
    expect(await waiting()).toBe(5);

    const burst = await Promise.all(
      Array.from({ length: 60 }, (_, i) => fake.signer.command(command(100 + i))),
    );
    const refused = burst.filter((r) => r.status === 503);
    const taken = burst.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length + taken.length).toBe(60);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      // Slack delivers a 5xx again; only 4xx answers ask it not to.
      expect(r.headers.get('x-slack-no-retry')).toBeNull();
      expect(r.json<{ error: { code: string } }>().error.code).toBe('ERR_OVERLOADED');
    }
    expect(await waiting()).toBe(5 + taken.length);
  });
});
