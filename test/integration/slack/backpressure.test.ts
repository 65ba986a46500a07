import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, slashCommand } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { ACME, ALICE, GENERAL, SIGNING_SECRET } from './harness.js';

/**
 * No worker is running, so every acknowledged command waits on the inbound queue. Past
 * INBOUND_BUSY_DEPTH the route still verifies and queues, but the ack says it will take a while;
 * past INBOUND_MAX_IN_FLIGHT requests at once it answers 503 + Retry-After (Slack delivers
 * those again) and queues nothing for them. The bound is filled on purpose, with requests whose
 * bodies have not finished arriving, not by hoping a burst overlaps.
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

  /** A signed command sent all but its last byte: in flight until `finish()` sends that byte. */
  function heldCommand(fields: Record<string, string>): { finish(): Promise<{ status: number }> } {
    const body = new URLSearchParams(fields).toString();
    const headers = fake.signer.headers(body, 'application/x-www-form-urlencoded');
    const req = request(fake.signer.targetUrl, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    const answered = new Promise<{ status: number }>((resolve, reject) => {
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
      });
      req.once('error', reject);
    });
    req.write(body.slice(0, -1));
    return {
      finish() {
        req.end(body.slice(-1));
        return answered;
      },
    };
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
    const refused = await fake.signer.command(command(102));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    // Slack delivers a 5xx again; only 4xx answers ask it not to.
    expect(refused.headers.get('x-slack-no-retry')).toBeNull();
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('ERR_OVERLOADED');
    // The held ones finish and are taken; the refused one queued nothing.
    const taken = await Promise.all(held.map((h) => h.finish()));
    expect(taken.map((r) => r.status)).toEqual([200, 200]);
    expect(await waiting()).toBe(7);
    // With the bound free again, the refused command sent again is taken.
    expect((await fake.signer.command(command(102))).status).toBe(200);
    expect(await waiting()).toBe(8);
  });
});
