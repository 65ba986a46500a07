import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVE_SESSION_STATUSES } from '../../../src/core/status.js';
import { appMention, botEcho, userMessage } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import {
  ALICE,
  BOB,
  previewUrlIn,
  type SlackHarness,
  shown,
  startSlackApp,
  waitForThreadMessage,
} from './harness.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp({ OFFLINE_BUILD_STEP_MS: '150' });
});
afterAll(async () => {
  await h?.stop();
});

const activeCount = async () => (await h.t.app.repos.sessions.listByStatus(ACTIVE_SESSION_STATUSES)).length;

describe('slack: mentions and direct messages', () => {
  it('builds from an @mention, with the status card and result in a thread under the mention', async () => {
    const { fake, t } = h;
    const channel = 'C0MENTION';
    const mention = appMention(fake, { ...ALICE, channel, text: 'a guestbook for our wedding' });
    const res = await fake.signer.event(mention.envelope);
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);

    const card = await until('card in the thread', async () => fake.inThread(channel, mention.ts)[0]);
    const result = await waitForThreadMessage(fake, channel, mention.ts, /is ready/);
    expect(fake.topLevel(channel)).toHaveLength(0);
    expect(card.edits.at(-1)!.text).toMatch(/Live ▓▓▓▓▓▓▓▓▓▓ 100%/);
    const url = previewUrlIn(result)!;
    expect((await fetchPreview(url)).status).toBe(200);
    // The "queued" note went to Alice only, in the thread; the mention itself was not in the prompt.
    const note = fake.ephemeralsTo(ALICE.user).find((e) => e.threadTs === mention.ts);
    expect(note && shown(note)).toMatch(/Queued/);
    const sessionId = String(
      (await t.app.repos.builds.getByRequestKey(`slack:${mention.envelope.event_id}`))?.sessionId,
    );
    const session = await t.app.repos.sessions.get(sessionId);
    expect(session?.prompt).toBe('a guestbook for our wedding');
    expect(session?.conversation).toMatchObject({ channelId: channel, threadId: mention.ts });

    // A reply in that thread iterates; a mention in the thread does too.
    const reply = appMention(fake, {
      ...ALICE,
      channel,
      threadTs: mention.ts,
      text: 'add a field for the table number',
    });
    await fake.signer.event(reply.envelope);
    await waitForThreadMessage(fake, channel, mention.ts, /Change #2 is live/);
    expect((await t.app.repos.builds.listForSession(sessionId)).map((b) => b.iteration)).toEqual([1, 2]);

    // Someone else's change request in the thread is not theirs to make: told so, privately.
    const before = await activeCount();
    await fake.signer.event(
      userMessage(fake, { ...BOB, channel, threadTs: mention.ts, text: 'make it pink' }).envelope,
    );
    const hint = await until('bob told', async () =>
      fake.ephemeralsTo(BOB.user).find((e) => e.threadTs === mention.ts),
    );
    expect(shown(hint)).toContain('Only the person who asked for this app can change it');
    expect(await activeCount()).toBe(before);
    expect((await t.app.repos.builds.listForSession(sessionId)).length).toBe(2);
  });

  it('builds from a direct message, with everything in the DM (no threads), and a follow-up DM iterates', async () => {
    const { fake, t } = h;
    const dm = 'D0ALICE';
    const first = userMessage(fake, { ...ALICE, channel: dm, text: 'a habit tracker with streaks' });
    const res = await fake.signer.event(first.envelope);
    expect(res.status).toBe(200);
    const result = await until('result in the DM', async () =>
      fake.inChannel(dm).find((m) => /is ready/.test(shown(m))),
    );
    expect(fake.inChannel(dm).every((m) => m.threadTs === undefined)).toBe(true);
    const card = fake.inChannel(dm).find((m) => m.edits.length > 1 || /100%/.test(m.text))!;
    expect(card.text).toMatch(/Live ▓▓▓▓▓▓▓▓▓▓ 100%/);
    const url = previewUrlIn(result)!;
    expect((await fetchPreview(url)).status).toBe(200);

    const follow = userMessage(fake, { ...ALICE, channel: dm, text: 'call it Daily Wins' });
    await fake.signer.event(follow.envelope);
    await until('change #2 in the DM', async () =>
      fake.inChannel(dm).find((m) => /Change #2 is live/.test(shown(m))),
    );
    const build = await t.app.repos.builds.getByRequestKey(`slack:${follow.envelope.event_id}`);
    expect(build?.iteration).toBe(2);
    expect(await (await fetchPreview(url)).text()).toContain('Daily Wins');
  });

  it('ignores its own messages, channel chatter and threads that are not its own', async () => {
    const { fake, t } = h;
    const channel = 'C0CHATTER';
    const before = await activeCount();
    const posted = fake.messages.length;
    // The bot's own post, echoed back as a message event.
    const own = fake.messages[0]!;
    expect((await fake.signer.event(botEcho(fake, own))).status).toBe(200);
    // A message at the top of a channel, and one in somebody else's thread.
    expect(
      (await fake.signer.event(userMessage(fake, { ...BOB, channel, text: 'lunch anyone?' }).envelope))
        .status,
    ).toBe(200);
    const other = userMessage(fake, {
      ...BOB,
      channel,
      threadTs: '1700000000.000100',
      text: 'build me a blog',
    });
    expect((await fake.signer.event(other.envelope)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(await activeCount()).toBe(before);
    expect(fake.messages.length).toBe(posted);
    expect(fake.ephemeralsTo(BOB.user).filter((e) => e.channel === channel)).toHaveLength(0);
    expect(await t.app.repos.builds.getByRequestKey(`slack:${other.envelope.event_id}`)).toBeUndefined();
  });
});
