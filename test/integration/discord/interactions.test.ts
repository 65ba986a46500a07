import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  botMessages,
  customIds,
  type DiscordWorld,
  embedOf,
  type FakeChannel,
  type FakeUser,
  field,
  links,
  readyMessage,
  stagesOf,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';

let w: DiscordWorld;
let general: FakeChannel;
let alice: FakeUser;
let bob: FakeUser;

beforeAll(async () => {
  w = await startDiscordWorld({
    env: { OFFLINE_BUILD_STEP_MS: '300', FREE_LIVE_SESSIONS: '5' },
    prepare: (fake) => {
      general = fake.addGuild('Bakery').channel;
      alice = fake.user('alice');
      bob = fake.user('bob');
    },
  });
});
afterAll(async () => {
  await w?.stop();
});

async function status(url: string): Promise<number> {
  return (await fetchPreview(url, { signal: AbortSignal.timeout(3000) })).status;
}

/** Nothing reached the conversation: no session, no queued build, no answer to Discord. */
async function nothingHappened(callbacksBefore: number) {
  const { t, fake } = w;
  const sessions = await t.app.repos.sessions.listByStatus(['queued', 'building', 'deploying', 'live']);
  expect(sessions.filter((s) => s.platform === 'discord')).toEqual([]);
  expect(
    (await t.app.queues.spawn.getJobCounts('waiting', 'active', 'delayed', 'completed')).completed ?? 0,
  ).toBe(0);
  expect(fake.requests.filter((r) => r.path.startsWith('/interactions/')).length).toBe(callbacksBefore);
}

describe('discord interactions: verified before anything else', () => {
  it('refuses forged, unsigned, stale and malformed requests, and changes nothing', async () => {
    const { fake } = w;
    const callbacks = fake.requests.filter((r) => r.path.startsWith('/interactions/')).length;
    const i = fake.signer.command(alice, general.id, 'a landing page for a bakery');
    const cases: [string, Parameters<typeof fake.signer.post>[1], number][] = [
      ['forged signature', { badSignature: true }, 401],
      ['no signature', { omit: 'signature' }, 401],
      ['no timestamp', { omit: 'timestamp' }, 401],
      ['no headers', { omit: 'both' }, 401],
      ['stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }, 401],
      ['future timestamp', { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 }, 401],
      ['signed, not JSON', { rawBody: '{"type": 2,' }, 400],
      ['signed, not an interaction', { rawBody: '{"hello":"world"}' }, 400],
      ['signed, unknown type', { rawBody: JSON.stringify({ ...i.payload, type: 4 }) }, 400],
      [
        'signed, another app',
        { rawBody: JSON.stringify({ ...i.payload, application_id: '123456789' }) },
        400,
      ],
      ['signed, wrong content type', { contentType: 'text/plain' }, 415],
    ];
    for (const [what, options, expected] of cases) {
      const res = await fake.signer.post(i.payload, options);
      expect({ what, status: res.status }).toEqual({ what, status: expected });
      expect((res.json as { error?: { code?: string } }).error?.code).toMatch(/^ERR_/);
    }
    // A signature over other bytes than those sent.
    const tampered = await fetch(fake.signer.target, {
      method: 'POST',
      headers: fake.signer.headersFor(JSON.stringify(i.payload)),
      body: JSON.stringify({
        ...i.payload,
        data: { name: 'spawn', options: [{ name: 'prompt', type: 3, value: 'x' }] },
      }),
    });
    expect(tampered.status).toBe(401);
    const huge = await fake.signer.post(undefined, { rawBody: 'x'.repeat(300 * 1024) });
    expect(huge.status).toBe(413);
    await nothingHappened(callbacks);
    expect(i.ack).toBeUndefined();
  });

  it('answers PING with PONG', async () => {
    const res = await w.fake.signer.ping();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ type: 1 });
  });

  it('the same interaction delivered three times at once is one build', async () => {
    const { fake, t } = w;
    const i = fake.signer.command(bob, general.id, 'a raffle for the bake sale');
    const results = await Promise.all([
      fake.signer.deliver(i),
      fake.signer.post(i.payload),
      fake.signer.post(i.payload),
    ]);
    expect(results.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(fake.requests.filter((r) => r.route === `POST /interactions/${i.id}/callback`)).toHaveLength(1);
    const build = await until('build', async () => t.app.repos.builds.getByRequestKey(`discord:${i.id}`));
    expect(await t.app.repos.builds.listForSession(build.sessionId)).toHaveLength(1);
    const session = await t.app.repos.sessions.get(build.sessionId);
    expect(await t.app.repos.sessions.listByUser(session!.userId, { limit: 5 })).toHaveLength(1);
    await readyMessage(fake, (await until('thread', async () => fake.channels.get(i.originalMessageId!))).id);
  });

  it('answers in the response body when the callback endpoint fails', async () => {
    const { fake } = w;
    const i = fake.signer.command(bob, general.id, 'list');
    // Discord's side errors three times: more than the client retries.
    fake.failNext(new RegExp(`POST /interactions/${i.id}/callback`), 500, 3);
    const res = await fake.signer.deliver(i);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ type: 5, data: { flags: 64 } });
    expect(i.ack).toMatchObject({ type: 5, ephemeral: true, via: 'response' });
    const original = await until('list answer', async () => {
      const m = fake.messages.get(i.originalMessageId!);
      return m && m.history.length > 1 ? m : undefined;
    });
    expect(embedOf(original)?.title).toBe('Your apps');
  });
});

describe('discord interactions: /spawn', () => {
  it('defers within 3 s, turns "thinking…" into the status card, opens a thread, posts the result there', async () => {
    const { fake, t } = w;
    const i = fake.signer.command(alice, general.id, 'a landing page for my bakery');
    const res = await fake.signer.deliver(i);
    expect(res.status).toBe(202);
    expect(res.elapsedMs).toBeLessThan(3000);
    expect(i.ack).toMatchObject({ type: 5, ephemeral: false, via: 'callback' });
    expect(i.failed).toBeUndefined();

    const original = fake.messages.get(i.originalMessageId!)!;
    const thread = await until('thread from the status card', async () => fake.channels.get(original.id));
    expect(thread.parent_id).toBe(general.id);
    const result = await readyMessage(fake, thread.id);
    const [url] = links(result);
    expect(await status(url!)).toBe(200);

    // The original response was the card: edited through the webhook, through the stages.
    expect(original.history[0]!.via).toBe('callback');
    expect(original.history.slice(1).every((h) => h.via === 'webhook')).toBe(true);
    expect(stagesOf(original).at(-1)).toBe('Live');
    expect(original.history.length).toBeGreaterThanOrEqual(2);
    expect(customIds(original)).toEqual(expect.arrayContaining([expect.stringMatching(/^stop:[a-z0-9]+$/)]));
    expect(links(original)).toContain(url);

    // A duplicate delivery of the same interaction starts nothing and answers nothing.
    const again = await fake.signer.post(i.payload);
    expect(again.status).toBe(202);
    const build = await t.app.repos.builds.getByRequestKey(`discord:${i.id}`);
    expect((await t.app.repos.builds.listForSession(build!.sessionId)).length).toBe(1);
  });

  it('answers /spawn help and /spawn status only to the person who asked', async () => {
    const { fake } = w;
    const help = fake.signer.command(bob, general.id, 'help');
    expect((await fake.signer.deliver(help)).status).toBe(202);
    expect(help.ack).toMatchObject({ type: 5, ephemeral: true });
    const original = await until('help answer', async () => {
      const m = fake.messages.get(help.originalMessageId!);
      return m && m.history.length > 1 ? m : undefined;
    });
    expect(embedOf(original)?.title).toBe('SpawnAI');
    expect(original.ephemeralFor).toBe(bob.id);

    // A build request that is refused: the public "thinking…" goes, the refusal is private.
    const empty = fake.signer.command(bob, general.id, '--on nowhere a thing');
    await fake.signer.deliver(empty);
    expect(empty.ack).toMatchObject({ type: 5, ephemeral: false });
    await until('private refusal', async () => empty.followUps.length === 1);
    expect(fake.messages.get(empty.originalMessageId!)?.deleted).toBe(true);
    const refusal = fake.messages.get(empty.followUps[0]!)!;
    expect(refusal.ephemeralFor).toBe(bob.id);
    expect(embedOf(refusal)?.title).toBe('Unknown command');
  });

  it('a /spawn in a DM answers there: status card as the response, result as a follow-up', async () => {
    const { fake } = w;
    const dm = fake.dmChannel(alice);
    const i = fake.signer.command(alice, dm.id, 'a guestbook for our wedding');
    expect((await fake.signer.deliver(i)).status).toBe(202);
    const result = await readyMessage(fake, dm.id);
    expect(i.followUps).toContain(result.id);
    expect(await status(links(result)[0]!)).toBe(200);
    expect(stagesOf(fake.messages.get(i.originalMessageId!)!).at(-1)).toBe('Live');
  });

  it('refuses Stop from someone else privately; the owner stops it', async () => {
    const { fake, t } = w;
    const i = fake.signer.command(alice, general.id, 'a menu for our cafe');
    await fake.signer.deliver(i);
    const card = fake.messages.get(i.originalMessageId!)!;
    const thread = await until('thread', async () => fake.channels.get(card.id));
    await readyMessage(fake, thread.id);
    const stopId = customIds(card).find((c) => c.startsWith('stop:'))!;
    const sessionId = stopId.slice('stop:'.length);

    const press = fake.signer.press(bob, card, stopId);
    const res = await fake.signer.deliver(press);
    expect(res.status).toBe(202);
    expect(press.ack).toMatchObject({ type: 6 });
    await until('refusal', async () => press.followUps.length === 1);
    const refusal = fake.messages.get(press.followUps[0]!)!;
    expect(refusal.ephemeralFor).toBe(bob.id);
    expect(embedOf(refusal)?.description).toBe('Only the person who asked for this app can do that.');
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('live');

    const own = fake.signer.press(alice, card, stopId);
    await fake.signer.deliver(own);
    await until('stopped', async () => (await t.app.repos.sessions.get(sessionId))?.status === 'stopped');
    await until('card says stopped', async () => field(embedOf(card), 'Stage') === 'Stopped');
    await until('stopped message', async () => botMessages(fake, thread.id, /stopped$/)[0]);
  });

  it('keeps delivering after the interaction token expires: bot edits, result in the thread', async () => {
    const { fake } = w;
    const i = fake.signer.command(alice, general.id, 'a timer for my sourdough');
    await fake.signer.deliver(i);
    const card = fake.messages.get(i.originalMessageId!)!;
    const thread = await until('card posted', async () =>
      card.history.length > 1 ? fake.channels.get(card.id) : undefined,
    );
    fake.expireInteractionTokens();

    const result = await readyMessage(fake, thread.id);
    expect(await status(links(result)[0]!)).toBe(200);
    await until('card live', async () => stagesOf(card).at(-1) === 'Live');
    // The webhook said "Invalid Webhook Token"; the card was then edited as a bot message.
    const webhook = fake.requests.filter((r) =>
      r.path.includes(`/webhooks/${fake.applicationId}/${i.token}/`),
    );
    expect(webhook.some((r) => r.status === 401)).toBe(true);
    expect(card.history.at(-1)!.via).toBe('channel');
  });

  it('delivers when the token expired before the worker got to it', async () => {
    const { fake } = w;
    const i = fake.signer.command(alice, general.id, 'a countdown for our opening day');
    fake.afterAck = (acked) => {
      if (acked.id === i.id) acked.expired = true;
    };
    expect((await fake.signer.deliver(i)).status).toBe(202);
    fake.afterAck = undefined;
    const card = await until('status card as a bot message', async () =>
      botMessages(fake, general.id).find(
        (m) => m.history[0]!.via === 'channel' && /opening day/i.test(embedOf(m)?.title ?? ''),
      ),
    );
    const thread = await until('thread', async () => fake.channels.get(card.id));
    const result = await readyMessage(fake, thread.id);
    expect(await status(links(result)[0]!)).toBe(200);
  });
});
