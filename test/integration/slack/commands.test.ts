import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_EDIT_INTERVAL_MS } from '../../../adapters/slack/index.js';
import { buttonsOf, pressButton, slashCommand, userMessage } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import {
  ACME,
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
  // A pause per generated file, so the card has stages to show at Slack's edit pace.
  h = await startSlackApp({ OFFLINE_BUILD_STEP_MS: '250' });
});
afterAll(async () => {
  await h?.stop();
});

const stageOf = (text: string) => /(Queued|Building|Deploying|Live|Stopped|Failed) [▓░]+ (\d+)%/.exec(text);

describe('slack: /spawn in a channel', () => {
  it('acks in under 3 s, edits one status card through the stages, posts the result in its thread, and a thread reply is change #2', async () => {
    const { fake, t } = h;
    const channel = 'C0BUILDS';
    const res = await fake.signer.command(
      slashCommand(fake, { ...ALICE, channel, text: 'a todo list for my climbing gym' }),
    );
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    expect(res.headers.get('content-type')).toContain('application/json');
    const ack = res.json<{ response_type: string; text: string }>();
    expect(ack).toMatchObject({ response_type: 'ephemeral' });
    // The app has not looked at this channel yet, so the ack promises nothing about it.
    expect(ack.text).toContain('Got it: a todo list for my climbing gym');

    // The status message goes into the channel itself and starts a thread.
    const card = await until('status card', async () => fake.topLevel(channel)[0]);
    expect(card.token).toBe(ACME.botToken);
    const result = await waitForThreadMessage(fake, channel, card.ts, /is ready/);
    expect(fake.topLevel(channel)).toHaveLength(1);

    // Edited in place; the last edit is the live state. Which intermediate stages show
    // depends on how fast the build ran against the edit pace (they coalesce), so only their
    // order is checked, never their number.
    const stages = card.edits.map((e) => stageOf(e.text)).filter((m) => m !== null);
    expect(stages.at(-1)?.slice(1)).toEqual(['Live', '100']);
    const percents = stages.map((m) => Number(m[2]));
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    // Paced: no two edits of one card closer than the Slack edit interval (less timer slack).
    const gaps = card.edits.slice(1).map((e, i) => e.at - card.edits[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(SLACK_EDIT_INTERVAL_MS - 100);

    // Block Kit card: title, progress bar, fields, buttons.
    expect(shown(card)).toMatch(/Live\*\s+`▓▓▓▓▓▓▓▓▓▓ 100%`/);
    expect(shown(card)).toContain('*Time left*');
    expect(shown(card)).toContain('*Cost so far*');
    const labels = buttonsOf(card.blocks).map((b) => (b.text as { text: string }).text);
    expect(labels).toEqual(['Open preview', 'Extend', 'Stop']);

    // The final result is a new message in the thread, with a preview that answers 200.
    const url = previewUrlIn(result)!;
    expect(url).toMatch(/^http:\/\/[a-z0-9]+\.localhost:\d+$/);
    expect(buttonsOf(result.blocks).find((b) => b.url === url)).toBeDefined();
    const page = await fetchPreview(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/Climbing Gym/);

    const sessionId = (buttonsOf(card.blocks).find((b) => b.value)?.value as string) ?? '';
    const session = await t.app.repos.sessions.get(sessionId);
    expect(session).toMatchObject({ status: 'live', platform: 'slack' });
    expect(session?.conversation).toMatchObject({
      teamId: ACME.teamId,
      channelId: channel,
      threadId: card.ts,
    });

    // A reply in the thread iterates on the same app.
    const reply = userMessage(fake, {
      ...ALICE,
      channel,
      threadTs: card.ts,
      text: 'make it dark mode and call it Crux Crew Tasks',
    });
    expect((await fake.signer.event(reply.envelope)).status).toBe(200);
    const second = await waitForThreadMessage(fake, channel, card.ts, /Change #2 is live/);
    expect(previewUrlIn(second)).toBe(url);
    expect(await (await fetchPreview(url)).text()).toContain('Crux Crew Tasks');
    const builds = await t.app.repos.builds.listForSession(sessionId);
    expect(builds.map((b) => [b.iteration, b.status])).toEqual([
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    // The queued note of the iteration went to Alice alone, in the thread.
    expect(
      fake.ephemeralsTo(ALICE.user).some((e) => e.threadTs === card.ts && /change #2/i.test(shown(e))),
    ).toBe(true);

    // A thread word: "status" in the thread is /status.
    await fake.signer.event(
      userMessage(fake, { ...ALICE, channel, threadTs: card.ts, text: 'status' }).envelope,
    );
    await waitForThreadMessage(fake, channel, card.ts, /Live at http:\/\/[a-z0-9]+\.localhost/);

    // Another person pressing Stop is refused, ephemerally; the app keeps running.
    const stopByBob = await fake.signer.interaction(
      pressButton(fake, BOB, fake.topLevel(channel)[0]!, 'Stop'),
    );
    expect(stopByBob.status).toBe(200);
    expect(stopByBob.ms).toBeLessThan(3000);
    const refusal = await until('refusal to Bob', async () => fake.responsesTo(BOB.user)[0]);
    expect(refusal.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(refusal.body.text)).toContain('Only the person who asked for this app can do that.');
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('live');
    const extendByBob = await fake.signer.interaction(
      pressButton(fake, BOB, fake.topLevel(channel)[0]!, 'Extend'),
    );
    expect(extendByBob.status).toBe(200);
    await until('second refusal', async () => fake.responsesTo(BOB.user).length === 2);

    // The URL button is acknowledged too.
    const open = await fake.signer.interaction(
      pressButton(fake, BOB, fake.topLevel(channel)[0]!, 'Open preview'),
    );
    expect(open.status).toBe(200);
    expect(open.ms).toBeLessThan(3000);

    // The owner stops it: the card says so and the app is gone.
    const stop = await fake.signer.interaction(pressButton(fake, ALICE, fake.topLevel(channel)[0]!, 'Stop'));
    expect(stop.status).toBe(200);
    await until(
      'session stopped',
      async () => (await t.app.repos.sessions.get(sessionId))?.status === 'stopped',
    );
    // The newest card (change #2's, in the thread) is the one that follows the session now.
    const latestCard = (await t.app.repos.builds.listForSession(sessionId))[1]?.statusMessage?.messageId;
    await until('card shows stopped', async () =>
      fake.inThread(channel, card.ts).find((m) => m.ts === latestCard && /Stopped/.test(shown(m))),
    );
    await waitForThreadMessage(fake, channel, card.ts, /stopped/);
  });

  it('answers /spawn help and /spawn list through the response_url only', async () => {
    const { fake } = h;
    const channel = 'C0HELP';
    const res = await fake.signer.command(slashCommand(fake, { ...BOB, channel, text: 'help' }));
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const help = await until('help', async () =>
      fake.responsesTo(BOB.user).find((r) => /\/spawn/.test(String(r.body.text))),
    );
    expect(help.body.response_type).toBe('ephemeral');
    await fake.signer.command(slashCommand(fake, { ...BOB, channel, text: 'list' }));
    await until('list', async () =>
      fake.responsesTo(BOB.user).find((r) => /Your apps/.test(String(r.body.text))),
    );
    expect(fake.inChannel(channel)).toHaveLength(0);
  });

  it('refuses a prompt with a NUL character (Postgres cannot store it) with a clear answer, and starts nothing', async () => {
    const { fake, t } = h;
    const active = async () =>
      (await t.app.repos.sessions.listByStatus(['queued', 'building', 'deploying', 'live'])).length;
    const before = await active();
    // A form field may carry %00; Slack passes the text through as typed or pasted.
    const res = await fake.signer.command(
      slashCommand(fake, { ...BOB, channel: 'C0NUL', text: 'a todo list\u0000 for the office' }),
    );
    expect(res.status).toBe(200);
    const told = await until('refusal', async () =>
      fake.responsesTo(BOB.user).find((r) => /a character I cannot keep/.test(String(r.body.text))),
    );
    expect(told.body.response_type).toBe('ephemeral');
    expect(fake.responsesTo(BOB.user).some((r) => /Something went wrong/.test(String(r.body.text)))).toBe(
      false,
    );
    expect(await active()).toBe(before);
  });

  it('refuses a DM with half of an emoji (a lone surrogate in the event JSON) the same way', async () => {
    const { fake, t } = h;
    const before = (await t.app.repos.sessions.listByStatus(['queued', 'building', 'deploying', 'live']))
      .length;
    const dm = 'D0BOBDM';
    const { envelope } = userMessage(fake, { ...BOB, channel: dm, text: 'a habit tracker \ud83d' });
    expect((await fake.signer.event(envelope)).status).toBe(200);
    await until('refusal in the DM', async () =>
      fake.inChannel(dm).find((m) => /a character I cannot keep/.test(shown(m))),
    );
    expect(
      (await t.app.repos.sessions.listByStatus(['queued', 'building', 'deploying', 'live'])).length,
    ).toBe(before);
  });

  it('tells the person, ephemerally, when a build cannot start (empty prompt)', async () => {
    const { fake, t } = h;
    const before = (await t.app.repos.sessions.listByStatus(['queued', 'building', 'deploying', 'live']))
      .length;
    await fake.signer.command(slashCommand(fake, { ...BOB, channel: 'C0EMPTY', text: '' }));
    const told = await until('error', async () =>
      fake.responsesTo(BOB.user).find((r) => /Tell me what to build/.test(String(r.body.text))),
    );
    expect(told.body.response_type).toBe('ephemeral');
    expect(
      (await t.app.repos.sessions.listByStatus(['queued', 'building', 'deploying', 'live'])).length,
    ).toBe(before);
  });
});
