import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationKey } from '../../../src/core/platform.js';
import {
  botMessages,
  type DiscordWorld,
  embedOf,
  type FakeChannel,
  type FakeUser,
  field,
  links,
  percentsOf,
  readyMessage,
  repliesTo,
  stagesOf,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import { snowflake } from '../../fakes/discord/snowflake.js';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';

let w: DiscordWorld;
let general: FakeChannel;
let guildId: string;
let alice: FakeUser;
let bob: FakeUser;

beforeAll(async () => {
  w = await startDiscordWorld({
    roles: { bot: true },
    // Slow enough per file that the card is edited through several states.
    env: { OFFLINE_BUILD_STEP_MS: '300' },
    prepare: (fake) => {
      const { guild, channel } = fake.addGuild('Crux Climbing');
      guildId = guild.id;
      general = channel;
      alice = fake.user('alice');
      bob = fake.user('bob');
    },
  });
});
afterAll(async () => {
  await w?.stop();
});

async function get(url: string) {
  const res = await fetchPreview(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, text: await res.text() };
}

describe('discord gateway: mentions and DMs build apps', () => {
  it('a guild mention opens a thread, edits one status card, posts the result there; the thread iterates', async () => {
    const { fake, t } = w;
    const mention = fake.say(alice, general.id, 'a todo list for my climbing gym', { mentionBot: true });

    // The thread hangs off the person's message (and has its id).
    const thread = await until('thread', async () => fake.channels.get(mention.id));
    expect(thread).toMatchObject({ type: 11, parent_id: general.id, guild_id: guildId });
    expect(thread.name).toMatch(/climbing gym/i);

    const result = await readyMessage(fake, thread.id);
    const [url] = links(result);
    expect(url).toMatch(/^http:\/\/[a-z0-9]+\.localhost:\d+$/);
    expect(embedOf(result)?.description).toContain(url);
    const page = await get(url!);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/Climbing Gym/);

    // One status card, created once and edited in place through the stages; the result is new.
    const card = fake.messagesIn(thread.id)[0]!;
    expect(card.author.id).toBe(fake.botUser.id);
    expect(card.history.length).toBeGreaterThanOrEqual(2);
    expect(stagesOf(card).at(-1)).toBe('Live');
    expect(stagesOf(card)[0]).toMatch(/Queued|Building/);
    const percents = percentsOf(card);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(field(embedOf(card), 'Progress')).toBe('▓▓▓▓▓▓▓▓▓▓ 100%');
    expect(card.history.slice(1).every((h) => h.via === 'channel')).toBe(true);
    const patches = fake.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith(`/messages/${card.id}`),
    );
    expect(patches.length).toBe(card.history.length - 1);
    // Paced: no two edits of the card closer than the Discord interval (with a little jitter).
    const gaps = patches.slice(1).map((p, i) => p.at - patches[i]!.at);
    expect(Math.min(...gaps, 10_000)).toBeGreaterThanOrEqual(1100);
    // Nobody got pinged by user text.
    expect(
      fake.requests
        .filter((r) => r.method === 'POST' && /\/messages$/.test(r.path))
        .every(
          (r) =>
            JSON.stringify((r.body as { allowed_mentions?: unknown }).allowed_mentions) === '{"parse":[]}',
        ),
    ).toBe(true);

    // The session now lives in the thread: a follow-up there (no mention) is iteration 2.
    const session = await t.app.repos.sessions.findActiveInConversation(
      conversationKey({ platform: 'discord', teamId: guildId, channelId: thread.id }),
    );
    expect(session?.status).toBe('live');
    // Someone else chatting in the thread without a mention is not a change request; someone
    // else mentioning the bot there gets an app of their own, and the thread stays alice's.
    const chatter = fake.say(bob, thread.id, 'nice, make it pink');
    const bobAsks = fake.say(bob, thread.id, 'a leaderboard for our bouldering league', { mentionBot: true });
    fake.say(alice, thread.id, 'make it dark mode and call it Crux Crew Tasks');
    const second = await until('change #2', async () =>
      botMessages(fake, thread.id, / is ready$/).find((m) => embedOf(m)?.description?.includes('Change #2')),
    );
    expect(links(second)[0]).toBe(url);
    expect((await get(url!)).text).toContain('Crux Crew Tasks');
    const builds = await t.app.repos.builds.listForSession(session!.id);
    expect(builds.map((b) => [b.iteration, b.status])).toEqual([
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    expect(fake.messagesIn(thread.id).filter((m) => m.message_reference?.message_id === chatter.id)).toEqual(
      [],
    );
    const bobs = await until("bob's app", async () =>
      botMessages(fake, thread.id, / is ready$/).find((m) => links(m)[0] !== url),
    );
    expect((await get(links(bobs)[0]!)).status).toBe(200);
    const bobsBuild = await t.app.repos.builds.getByRequestKey(`discord:${bobAsks.id}`);
    expect(bobsBuild?.sessionId).not.toBe(session!.id);
    const threadSession = await t.app.repos.sessions.findActiveInConversation(
      conversationKey({ platform: 'discord', teamId: guildId, channelId: thread.id }),
    );
    expect(threadSession?.id).toBe(session!.id);

    // The same mention delivered again starts nothing.
    fake.redeliver(mention);
    fake.say(alice, general.id, '/list', { mentionBot: true });
    await until('list reply', async () => botMessages(fake, general.id, /Your apps/)[0]);
    expect(await t.app.repos.sessions.listByUser(session!.userId, { limit: 10 })).toHaveLength(1);
  });

  it('a DM builds an app: status card and result in the DM, no thread', async () => {
    const { fake } = w;
    const dm = fake.dmChannel(alice);
    fake.say(alice, dm.id, 'a guestbook for our wedding');
    const result = await readyMessage(fake, dm.id);
    const [url] = links(result);
    expect((await get(url!)).status).toBe(200);
    const card = fake.messagesIn(dm.id).find((m) => m.author.bot)!;
    expect(stagesOf(card).at(-1)).toBe('Live');
    expect([...fake.channels.values()].filter((c) => c.parent_id === dm.id)).toEqual([]);
  });

  it('resumes after the gateway drops the socket: what was sent meanwhile is handled once', async () => {
    const { fake } = w;
    const dm = fake.dmChannel(bob);
    const before = fake.say(bob, dm.id, '/help');
    await until('reply before', async () => repliesTo(fake, before).length === 1);
    const identifies = fake.gateway.stats.identifies;

    // Discord may re-send events the client already had when it resumes.
    fake.gateway.replayOverlap = 3;
    fake.gateway.closeAll(4000);
    const during = fake.say(bob, dm.id, '/list'); // buffered for the RESUME
    await until('resumed', async () => fake.gateway.stats.resumes === 1);
    const after = fake.say(bob, dm.id, '/help');
    await until(
      'replies',
      async () => repliesTo(fake, during).length === 1 && repliesTo(fake, after).length === 1,
    );
    expect(embedOf(repliesTo(fake, during)[0])?.title).toBe('Your apps');
    expect(fake.gateway.stats.identifies).toBe(identifies);

    // Discord ends the session (INVALID_SESSION, not resumable): a new IDENTIFY, then on as before.
    fake.gateway.invalidateSessions();
    await until(
      'identified again',
      async () => fake.gateway.stats.identifies === identifies + 1 && fake.gateway.connected().length === 1,
      15_000,
    );
    const later = fake.say(bob, dm.id, '/help');
    await until('reply after re-identify', async () => repliesTo(fake, later).length === 1);
    fake.gateway.replayOverlap = 0;
    for (const m of [before, during, after, later]) expect(repliesTo(fake, m)).toHaveLength(1);
  });

  it('two gateway connections at once (an overlapping restart) handle each message once', async () => {
    const { fake, t } = w;
    const adapter = t.app.adapters.find((a) => a.platform === 'discord')!;
    const second = await adapter.connect!();
    try {
      expect(fake.gateway.connected()).toHaveLength(2);
      const carol = fake.user('carol');
      const dm = fake.dmChannel(carol);
      const sent = ['/help', '/list', '/help', 'a countdown to my wedding'].map((text) =>
        fake.say(carol, dm.id, text),
      );
      await until('replies', async () => sent.slice(0, 3).every((m) => repliesTo(fake, m).length === 1));
      await readyMessage(fake, dm.id);
      for (const m of sent.slice(0, 3)) expect(repliesTo(fake, m)).toHaveLength(1);
      const builds = await t.app.repos.builds.getByRequestKey(`discord:${sent[3]!.id}`);
      expect(builds?.iteration).toBe(1);
      // Both connections got every message.
      for (const session of fake.gateway.connected()) {
        const ids = session.sent
          .filter((e) => e.t === 'MESSAGE_CREATE')
          .map((e) => (e.d as { id: string }).id);
        for (const m of sent) expect(ids).toContain(m.id);
      }
    } finally {
      await second.stop();
    }
  });

  it('understands recorded MESSAGE_CREATEs: mention stripped, nickname kept, thread or DM', async () => {
    const { fake, t } = w;
    const dana = fake.user('dana');
    const danasDm = fake.dmChannel(dana);
    /** A recording, with its ids moved into this fake world. */
    const replay = (name: string) => {
      const recorded = readFileSync(
        path.resolve(import.meta.dirname, `../../fixtures/discord/${name}.json`),
        'utf8',
      );
      const moved = recorded
        .replaceAll('1290000000000000001', fake.botUser.id)
        .replaceAll('1290000000000000200', guildId)
        .replaceAll('1290000000000000300', general.id)
        .replaceAll('1290000000000000600', danasDm.id)
        .replaceAll('1290000000000000500', dana.id)
        .replaceAll(/12900000000000009\d\d/g, () => snowflake());
      return fake.inject((JSON.parse(moved) as { d: Record<string, unknown> }).d);
    };
    const mention = replay('gateway-message-create-mention');
    const thread = await until('thread', async () => fake.channels.get(mention.id));
    expect(thread.name).toBe('a todo list for my climbing gym');
    // In a guild the member's nickname names the person; in a DM their global name does.
    const identity = () => t.app.repos.users.findIdentity('discord', '', dana.id);
    expect((await identity())?.displayName).toBe('Ali');
    const fromMention = await t.app.repos.builds.getByRequestKey(`discord:${mention.id}`);
    expect(fromMention?.prompt).toBe('a todo list for my climbing gym');

    const dm = replay('gateway-message-create-dm');
    const fromDm = await until('DM build', async () =>
      t.app.repos.builds.getByRequestKey(`discord:${dm.id}`),
    );
    expect(fromDm.prompt).toBe('a guestbook for our wedding');
    const dmSession = await t.app.repos.sessions.get(fromDm.sessionId);
    expect((await identity())?.displayName).toBe('Alice');
    expect(dmSession?.conversationKey).toBe(
      conversationKey({ platform: 'discord', teamId: '', channelId: danasDm.id }),
    );
    await readyMessage(fake, thread.id);
    await readyMessage(fake, danasDm.id);
  });

  it('a long rate limit delays a delivery instead of losing it', async () => {
    const { fake } = w;
    const erin = fake.user('erin');
    const dm = fake.dmChannel(erin);
    // Discord asks for 3 s on this channel: longer than the client waits inline.
    fake.buckets.force(new RegExp(`POST /channels/${dm.id}/messages$`), 3, 1);
    const sent = Date.now();
    fake.say(erin, dm.id, 'a dice roller for board games');
    const result = await readyMessage(fake, dm.id);
    const posts = fake.requests.filter((r) => r.route === `POST /channels/${dm.id}/messages`);
    expect(posts[0]!.status).toBe(429);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(2900);
    expect(result.history[0]!.at - sent).toBeGreaterThanOrEqual(3000);
    expect(stagesOf(fake.messagesIn(dm.id).find((m) => m.author.bot)!).at(-1)).toBe('Live');
  });
});
