import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOO_BUSY_NOTE } from '../../../bots/busy.js';
import { FakeSlack, slashCommand } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { hold } from '../../helpers/held-request.js';
import { ACME, ALICE, GENERAL, SIGNING_SECRET } from './harness.js';

/**
 * No worker is running, so every acknowledged command waits on the inbound queue. Past
 * INBOUND_BUSY_DEPTH the route still verifies and queues, but the ack says it will take a while;
 * past INBOUND_MAX_IN_FLIGHT requests at once a command is told, privately, to be sent again
 * (Slack never sends one again), and past that share a request gets 503 + Retry-After; neither
 * queues anything. The bound is filled on purpose, with requests whose
 * bodies have not finished arriving, not by hoping a burst overlaps.
 */
describe('slack: backpressure', () => {
  let fake: FakeSlack;
  let db: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let t: TestApp;

  beforeAll(async () => {
    fake = await new FakeSlack({ signingSecret: SIGNING_SECRET, workspaces: [ACME] }).start();
    db = await createThrowawayPostgres({ migrated: true });
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

  /** A signed command sent all but its last byte: in flight until `finish()` sends that byte. */
  function heldCommand(fields: Record<string, string>) {
    const body = new URLSearchParams(fields).toString();
    const headers = fake.signer.headers(body, 'application/x-www-form-urlencoded');
    return hold({ url: fake.signer.targetUrl, headers, body });
  }

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

    // Two commands whose bodies are still arriving fill the bound (counted from their headers on).
    const held = [heldCommand(command(100)), heldCommand(command(101))];
    await until('both held requests in flight', async () => t.app.inbound.requestsInFlight === 2);
    // Slack never sends a slash command again: over the bound it is verified and its person told,
    // privately, that it was not taken.
    const told = await fake.signer.command(command(102));
    expect(told.status).toBe(200);
    expect(told.json<{ response_type: string; text: string }>()).toEqual({
      response_type: 'ephemeral',
      text: expect.stringContaining(TOO_BUSY_NOTE),
    });
    expect(await waiting()).toBe(5);
    // Past the share that may be told, a request is refused before its body is read.
    held.push(heldCommand(command(103)));
    await until(
      'the told place held too',
      async () => t.app.inbound.requestsTold === t.app.inbound.toldBound,
    );
    const refused = await fake.signer.command(command(104));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    // Slack delivers a 5xx event again; only 4xx answers ask it not to.
    expect(refused.headers.get('x-slack-no-retry')).toBeNull();
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('ERR_OVERLOADED');
    // The held ones finish: two are taken, the one over the bound is told; nothing else queued.
    const answers = await Promise.all(held.map((h) => h.finish()));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await waiting()).toBe(7);
    // With the bound free again, the told command sent again is taken.
    expect((await fake.signer.command(command(102))).status).toBe(200);
    expect(await waiting()).toBe(8);
  });
});
