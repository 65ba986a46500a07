import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMention, slashCommand, userMessage } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import { ALICE, type SlackHarness, startSlackApp } from './harness.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp({ FREE_LIVE_SESSIONS: '10' });
});
afterAll(async () => {
  await h?.stop();
});

/** Everything a request could have changed: sessions, spawn jobs, messages and responses. */
async function footprint() {
  const { t, fake } = h;
  const spawnJobs = await t.app.queues.spawn.getJobCounts(
    'waiting',
    'active',
    'completed',
    'failed',
    'delayed',
  );
  const sessions = await t.app.repos.sessions.listByStatus([
    'queued',
    'building',
    'deploying',
    'live',
    'failed',
    'stopped',
  ]);
  return {
    sessions: sessions.length,
    jobs: Object.values(spawnJobs).reduce((a, b) => a + b, 0),
    posts: fake.messages.length + fake.ephemerals.length + fake.responses.length,
  };
}

describe('slack: every request is verified before anything else', () => {
  it('refuses forged signatures, stale timestamps, wrong content types and malformed payloads, changing nothing', async () => {
    const { fake } = h;
    const before = await footprint();
    const command = () => slashCommand(fake, { ...ALICE, channel: 'C0SEC', text: 'a blog about knitting' });
    const expectRefused = async (res: { status: number; text: string }, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code } });
    };

    // Forged: signed with another secret, a made-up signature, no signature, an older version.
    await expectRefused(
      await fake.signer.command(command(), { secret: 'not-the-secret' }),
      401,
      'ERR_SLACK_SIGNATURE',
    );
    await expectRefused(
      await fake.signer.command(command(), { signature: `v0=${'0'.repeat(64)}` }),
      401,
      'ERR_SLACK_SIGNATURE',
    );
    await expectRefused(await fake.signer.command(command(), { signature: '' }), 401, 'ERR_SLACK_SIGNATURE');
    await expectRefused(
      await fake.signer.command(command(), { signature: `v1=${'a'.repeat(64)}` }),
      401,
      'ERR_SLACK_SIGNATURE',
    );
    // Stale: correctly signed, six minutes ago (a replay).
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    await expectRefused(
      await fake.signer.command(command(), { timestamp: stale }),
      401,
      'ERR_SLACK_SIGNATURE',
    );
    // A body changed after signing.
    const fields = command();
    const body = new URLSearchParams(fields).toString();
    const headers = fake.signer.headers(body, 'application/x-www-form-urlencoded');
    const tampered = await fetch(fake.signer.targetUrl, {
      method: 'POST',
      headers,
      body: body.replace('knitting', 'crypto'),
    });
    expect(tampered.status).toBe(401);
    expect(tampered.headers.get('x-slack-no-retry')).toBe('1');

    // Signed, but the content type is not what Slack sends (Bolt compares it exactly).
    await expectRefused(
      await fake.signer.command(command(), {
        contentType: 'application/x-www-form-urlencoded; charset=utf-8',
      }),
      400,
      'ERR_BAD_REQUEST',
    );
    await expectRefused(
      await fake.signer.command(command(), { contentType: 'text/plain' }),
      400,
      'ERR_BAD_REQUEST',
    );
    const mention = appMention(fake, { ...ALICE, channel: 'C0SEC', text: 'a wiki' });
    await expectRefused(
      await fake.signer.send(JSON.stringify(mention.envelope), 'application/x-www-form-urlencoded'),
      400,
      'ERR_BAD_REQUEST',
    );

    // Signed, well-typed, malformed.
    await expectRefused(
      await fake.signer.send('{"type": "event_callback", ', 'application/json'),
      400,
      'ERR_BAD_REQUEST',
    );
    await expectRefused(await fake.signer.send('[1, 2]', 'application/json'), 400, 'ERR_BAD_REQUEST');
    await expectRefused(
      await fake.signer.event({ ...mention.envelope, event_id: undefined }),
      400,
      'ERR_BAD_REQUEST',
    );
    await expectRefused(
      await fake.signer.event({ ...mention.envelope, event: 'nope' }),
      400,
      'ERR_BAD_REQUEST',
    );
    const { trigger_id: _t, ...noTrigger } = command();
    await expectRefused(await fake.signer.command(noTrigger), 400, 'ERR_BAD_REQUEST');
    await expectRefused(
      await fake.signer.command({ ...command(), response_url: 'javascript:alert(1)' }),
      400,
      'ERR_BAD_REQUEST',
    );
    await expectRefused(
      await fake.signer.send('payload=%7Bnot-json', 'application/x-www-form-urlencoded'),
      400,
      'ERR_BAD_REQUEST',
    );
    await expectRefused(
      await fake.signer.interaction({ type: 'block_actions', user: { id: 'U0ALICE' }, actions: [] }),
      400,
      'ERR_BAD_REQUEST',
    );
    await expectRefused(
      await fake.signer.send('hello=world', 'application/x-www-form-urlencoded'),
      400,
      'ERR_BAD_REQUEST',
    );

    // Oversized: refused before anything is read into the app.
    const huge = await fake.signer.send(
      JSON.stringify({ type: 'event_callback', pad: 'x'.repeat(1_100_000) }),
      'application/json',
    );
    expect(huge.status).toBe(413);

    await new Promise((r) => setTimeout(r, 300));
    expect(await footprint()).toEqual(before);

    // Nothing was recorded either: the same event, now properly sent, is handled (not a "duplicate").
    const res = await fake.signer.event(mention.envelope);
    expect(res.status).toBe(200);
    await until('the genuine delivery is handled', async () => fake.inThread('C0SEC', mention.ts)[0]);
  });

  it('answers the URL verification challenge (signed only)', async () => {
    const { fake } = h;
    const challenge = {
      token: 'legacy',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    };
    const ok = await fake.signer.event(challenge);
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ challenge: challenge.challenge });
    expect((await fake.signer.event(challenge, { secret: 'wrong' })).status).toBe(401);
  });

  it('builds once for a delivery retried by Slack and for the same event_id sent at once', async () => {
    const { fake, t } = h;
    const channel = 'C0RETRY';
    const mention = appMention(fake, { ...ALICE, channel, text: 'a recipe box' });
    const first = await fake.signer.event(mention.envelope);
    expect(first.status).toBe(200);
    const retries = await Promise.all(
      [1, 2, 3].map((n) => fake.signer.event(mention.envelope, { retryNum: n, retryReason: 'http_timeout' })),
    );
    expect(retries.map((r) => r.status)).toEqual([200, 200, 200]);

    // A different delivery, duplicated concurrently.
    const dm = userMessage(fake, { ...ALICE, channel: 'D0RETRY', text: 'a countdown to my holiday' });
    const burst = await Promise.all([1, 2, 3, 4].map(() => fake.signer.event(dm.envelope)));
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200, 200]);

    await until(
      'both results posted',
      async () =>
        fake.inThread(channel, mention.ts).some((m) => /is ready/.test(m.text)) &&
        fake.inChannel('D0RETRY').some((m) => /is ready/.test(m.text)),
    );
    await new Promise((r) => setTimeout(r, 300));
    const a = await t.app.repos.builds.getByRequestKey(`slack:${mention.envelope.event_id}`);
    const b = await t.app.repos.builds.getByRequestKey(`slack:${dm.envelope.event_id}`);
    expect(await t.app.repos.builds.listForSession(a!.sessionId)).toHaveLength(1);
    expect(await t.app.repos.builds.listForSession(b!.sessionId)).toHaveLength(1);
    // One status card per delivery, one queued note each.
    expect(fake.inThread(channel, mention.ts).filter((m) => /is ready/.test(m.text))).toHaveLength(1);
    expect(fake.ephemeralsTo(ALICE.user).filter((e) => e.threadTs === mention.ts)).toHaveLength(1);
    expect(fake.inChannel('D0RETRY').filter((m) => /Queued/.test(m.text))).toHaveLength(1);
  });
});
