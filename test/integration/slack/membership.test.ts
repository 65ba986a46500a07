import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slashCommand } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import {
  ACME,
  ALICE,
  BOB,
  type SlackHarness,
  shown,
  startSlackApp,
  waitForThreadMessage,
} from './harness.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp();
});
afterAll(async () => {
  await h?.stop();
});

const ACTIVE = ['queued', 'building', 'deploying', 'live'] as const;
/** Sessions started from a conversation (wherever their card went). */
const sessions = async (channel: string) =>
  (await h.t.app.repos.sessions.listByStatus([...ACTIVE])).filter(
    (s) => s.conversation?.channelId === channel,
  ).length;

/** `/spawn <text>` as `who` in `channel`; returns the ack's text and the response_url answers. */
async function spawnIn(who: typeof ALICE, channel: string, text: string) {
  const res = await h.fake.signer.command(slashCommand(h.fake, { ...who, channel, text }));
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3000);
  return res.json<{ text: string }>().text;
}

function answerTo(who: typeof ALICE, channel: string, match: RegExp) {
  return until(`an answer to ${who.user} in ${channel} matching ${match}`, async () =>
    h.fake
      .responsesTo(who.user)
      .find((r) => r.context.channel === channel && match.test(String(r.body.text))),
  );
}

describe('slack: /spawn where the app cannot post', () => {
  it('a private channel without the app: told how to invite it, nothing built; after /invite it builds there', async () => {
    const { fake } = h;
    const channel = 'C0SECRETPLANS';
    fake.addChannel({ teamId: ACME.teamId, id: channel, kind: 'private', members: [ALICE.user, BOB.user] });

    const ack = await spawnIn(ALICE, channel, 'a countdown to the launch party');
    // The ack does not promise a card it may not be able to post.
    expect(ack).toContain('Got it: a countdown to the launch party');
    expect(ack).not.toContain('The status will appear here');
    const refusal = await answerTo(ALICE, channel, /cannot post/);
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(String(refusal.body.text)).toContain('I cannot post in this conversation');
    expect(JSON.stringify(refusal.body.blocks)).toContain('/invite @SpawnAI');
    expect(JSON.stringify(refusal.body.blocks)).toContain('nothing was spent');
    // Nothing was started, and nothing was tried in the channel.
    await new Promise((r) => setTimeout(r, 500));
    expect(await sessions(channel)).toBe(0);
    expect(fake.callsOf('chat.postMessage').filter((c) => c.error)).toEqual([]);
    expect(fake.inChannel(channel)).toEqual([]);

    // Someone types `/invite @SpawnAI` there; the same request now builds and posts in the channel.
    fake.invite(ACME.teamId, channel);
    await spawnIn(ALICE, channel, 'a countdown to the launch party');
    const card = await until('status card in the private channel', async () => fake.topLevel(channel)[0]);
    await waitForThreadMessage(fake, channel, card.ts, /is ready/, 60_000);
    expect(await sessions(channel)).toBe(1);
    // Known now: the next ack promises the card.
    expect(await spawnIn(BOB, channel, 'a potluck sign-up sheet')).toContain('The status will appear here');
  }, 90_000);

  it('a DM between two people: pointed to the app’s own DM, nothing built', async () => {
    const { fake } = h;
    const channel = 'D0ALICEBOB';
    fake.addChannel({ teamId: ACME.teamId, id: channel, kind: 'im', members: [ALICE.user, BOB.user] });
    await spawnIn(BOB, channel, 'a shared grocery list');
    const refusal = await answerTo(BOB, channel, /direct message between people/);
    expect(String(refusal.body.text)).toContain('I cannot post in this conversation');
    await new Promise((r) => setTimeout(r, 500));
    expect(await sessions(channel)).toBe(0);
    expect(fake.inChannel(channel)).toEqual([]);
  });

  it('a group DM without the app: refused the same way', async () => {
    const { fake } = h;
    const channel = 'G0MPDMTRIO';
    fake.addChannel({
      teamId: ACME.teamId,
      id: channel,
      kind: 'mpim',
      members: [ALICE.user, BOB.user, 'U0CAROL'],
    });
    await spawnIn(ALICE, channel, 'a poll for where to eat');
    await answerTo(ALICE, channel, /cannot post/);
    expect(await sessions(channel)).toBe(0);
  });

  it('the DM with the app itself: builds there', async () => {
    const { fake } = h;
    const channel = 'D0SPAWNALICE'; // the app's own DM with Alice
    await spawnIn(ALICE, channel, 'a reading log for my book club');
    const card = await until('status card in the DM', async () => fake.inChannel(channel)[0]);
    await until(
      'the result in the DM',
      async () => fake.inChannel(channel).find((m) => m.ts !== card.ts && /is ready/.test(shown(m))),
      60_000,
    );
    expect(fake.responsesTo(ALICE.user).filter((r) => r.context.channel === channel)).toEqual([]);
  }, 90_000);
});

describe('fake Slack: where a bot token may post, as Slack documents it', () => {
  it('refuses posts where the app is not a member, and conversations.info tells the app so', async () => {
    const { fake } = h;
    const web = new WebClient(ACME.botToken, { slackApiUrl: `${fake.apiUrl}/`, retryConfig: { retries: 0 } });
    fake.addChannel({ teamId: ACME.teamId, id: 'C0HIDDEN', kind: 'private', members: [ALICE.user] });
    await expect(web.chat.postMessage({ channel: 'C0HIDDEN', text: 'hi' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    await expect(web.conversations.info({ channel: 'C0HIDDEN' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    // A public channel the app is not in: posting needs chat:write.public; the info says not a member.
    const info = await web.conversations.info({ channel: 'C0OPENSPACE' });
    expect(info.channel).toMatchObject({ is_private: false, is_member: false });
    expect(info.response_metadata?.scopes).toContain('chat:write.public');
    await expect(web.chat.postMessage({ channel: 'C0OPENSPACE', text: 'hi' })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('without chat:write.public a public channel is not_in_channel; without groups:read, missing_scope', async () => {
    const { fake } = h;
    const narrow = {
      teamId: 'T0NARROW',
      name: 'Narrow',
      botToken: 'xoxb-narrow-0000000003-aaaaaaaaaaaa',
      botUserId: 'U0NARROWBOT',
      botId: 'B0NARROWBOT',
      scopes: ['chat:write', 'commands', 'channels:read'],
    };
    fake.addWorkspace(narrow);
    const web = new WebClient(narrow.botToken, {
      slackApiUrl: `${fake.apiUrl}/`,
      retryConfig: { retries: 0 },
    });
    await expect(web.chat.postMessage({ channel: 'C0PUBLIC', text: 'hi' })).rejects.toMatchObject({
      data: { error: 'not_in_channel' },
    });
    fake.addChannel({ teamId: narrow.teamId, id: 'C0PRIV', kind: 'private', members: [narrow.botUserId] });
    await expect(web.conversations.info({ channel: 'C0PRIV' })).rejects.toMatchObject({
      data: { error: 'missing_scope', needed: 'groups:read' },
    });
    await expect(web.chat.postMessage({ channel: 'C0PRIV', text: 'hi' })).resolves.toMatchObject({
      ok: true,
    });
  });
});
