import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import {
  appIdOf,
  botMessage,
  isResult,
  previewUrl,
  sessionsOf,
  startTelegram,
  type TelegramHarness,
} from './harness.js';

let h: TelegramHarness;
beforeAll(async () => {
  // A little time per written file, so the status message is edited while it builds.
  h = await startTelegram('webhook', { OFFLINE_BUILD_STEP_MS: '250', FREE_LIVE_SESSIONS: '3' });
});
afterAll(async () => {
  await h?.stop();
});

describe('Telegram through the webhook: a private chat', () => {
  it('/spawn → one status message edited in place → the result as a new message; a reply iterates; Stop', async () => {
    const { fake, t } = h;
    const alice = fake.user('Alice', 'alice_climbs');
    const chat = fake.privateChat(alice);
    const sent = await fake.sendText(chat, alice, '/spawn a todo list for my climbing gym');
    expect(sent.status).toBe(200);

    const result = await botMessage(fake, chat, (m) => isResult(m), 'the result message');
    const url = previewUrl(result);
    const page = await fetchPreview(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>[^<]*Climbing Gym[^<]*<\/title>/);

    // Exactly two bot messages: the status card (edited, now live) and the result.
    const [status, ...rest] = fake.botMessages(chat);
    expect(rest).toEqual([result]);
    const id = appIdOf(status!);
    expect(appIdOf(result)).toBe(id);
    expect(status!.edits.length).toBeGreaterThanOrEqual(1);
    // While building it showed a text progress bar; now it is live with time left and cost.
    const versions = [
      fake.calls('sendMessage')[0]!.body.text as string,
      ...status!.edits.map((e) => e.html ?? ''),
    ];
    expect(versions.some((v) => /<code>[▓░]{10} \d+%<\/code>/.test(v))).toBe(true);
    expect(status!.html).toContain(`Live at ${url}`);
    expect(status!.text).toMatch(/Time left: (59 min|1 h)/);
    expect(status!.text).toContain('Cost so far: $0.00');
    // A local preview (<app>.localhost) is a link in the text, not a button Telegram might refuse.
    expect(status!.replyMarkup).toEqual({
      inline_keyboard: [
        [
          { text: 'Extend', callback_data: `extend:${id}` },
          { text: 'Stop', callback_data: `stop:${id}` },
        ],
      ],
    });
    // Every status edit respected the private-chat pace.
    const editTimes = fake
      .calls('editMessageText')
      .filter((c) => Number(c.body.chat_id) === chat.id)
      .map((c) => c.at);
    for (let i = 1; i < editTimes.length; i++)
      expect(editTimes[i]! - editTimes[i - 1]!).toBeGreaterThanOrEqual(1_050);

    // A reply to the status message is a change to the same app.
    await fake.sendText(chat, alice, 'make it dark mode and call it Crux Crew Tasks', {
      replyTo: status!.messageId,
    });
    const second = await botMessage(fake, chat, (m) => /Change #2 is live/.test(m.text ?? ''), 'change #2');
    expect(second.text).toContain(url);
    expect(await (await fetchPreview(url)).text()).toContain('Crux Crew Tasks');
    expect((await t.app.repos.builds.listForSession(id)).map((b) => b.status)).toEqual([
      'succeeded',
      'succeeded',
    ]);

    // Stop from the result's button: a toast, then the card loses its buttons and says so.
    const press = await fake.press(chat, second.messageId, alice, `stop:${id}`);
    expect(press.status).toBe(200);
    const answer = await fake.callbackAnswer(press.queryId);
    expect(answer.text).toMatch(/^Stopping /);
    expect(answer.show_alert).toBeUndefined();
    await botMessage(
      fake,
      chat,
      (m) => /stopped/.test(m.text ?? '') && m.edits.length === 0,
      'the stopped message',
    );
    expect((await t.app.repos.sessions.get(id))?.status).toBe('stopped');
    // The card of the latest change (the one the notify worker edits) says so, without buttons.
    await until('card without buttons', async () =>
      fake
        .botMessages(chat)
        .some(
          (m) =>
            m.edits.length > 0 && /Stopped\. The app has been removed/.test(m.text ?? '') && !m.replyMarkup,
        ),
    );
  });

  it('answers /start and unknown commands with a message, and builds nothing', async () => {
    const { fake } = h;
    const bob = fake.user('Bob');
    const chat = fake.privateChat(bob);
    await fake.sendText(chat, bob, '/start');
    const help = await botMessage(
      fake,
      chat,
      (m) => /\/spawn &lt;what to build&gt;/.test(m.html ?? ''),
      'help',
    );
    expect(help.text).toContain('/status');
    await fake.sendText(chat, bob, '/frobnicate now');
    await botMessage(fake, chat, (m) => /I do not know \/frobnicate/.test(m.text ?? ''), 'unknown command');
    expect(await sessionsOf(h, bob)).toEqual([]);
  });
});

describe('Telegram through the webhook: a group', () => {
  it('takes only commands, mentions and replies to itself; every app is its own thread', async () => {
    const { fake, t } = h;
    const group = fake.group('Climbers');
    const alice = fake.user('Alice');
    const bob = fake.user('Bob');

    // People talking to each other, and another bot's command: not for us.
    expect((await fake.sendText(group, bob, 'anyone up for bouldering tonight?')).status).toBe(200);
    expect((await fake.sendText(group, bob, '/spawn@SomeOtherBot a poll for tonight')).status).toBe(200);
    expect(fake.botMessages(group)).toEqual([]);
    expect(await sessionsOf(h, bob)).toEqual([]);

    // A command with our name: a new app; its status message answers the command.
    const command = await fake.sendText(group, alice, `/spawn@${fake.bot.username} a guestbook for our gym`);
    const aliceResult = await botMessage(fake, group, (m) => isResult(m), "alice's result");
    const aliceId = appIdOf(aliceResult);
    const aliceStatus = fake.botMessages(group)[0]!;
    expect(appIdOf(aliceStatus)).toBe(aliceId);
    expect(aliceStatus.replyTo).toBe(command.message.messageId);
    expect(aliceResult.replyTo).toBe(aliceStatus.messageId);
    expect((await fetchPreview(previewUrl(aliceResult))).status).toBe(200);

    // Bob answers Alice's app: refused, nothing built.
    await fake.sendText(group, bob, 'make it red', { replyTo: aliceStatus.messageId });
    await botMessage(
      fake,
      group,
      (m) => /Only the person who asked for this app/.test(m.text ?? ''),
      'refusal',
    );
    expect(await t.app.repos.builds.listForSession(aliceId)).toHaveLength(1);
    expect(await sessionsOf(h, bob)).toEqual([]);
    // And his Stop press gets an alert; the app keeps running.
    const press = await fake.press(group, aliceStatus.messageId, bob, `stop:${aliceId}`);
    expect(await fake.callbackAnswer(press.queryId)).toMatchObject({
      text: 'Only the person who asked for this app can do that.',
      show_alert: true,
    });
    expect((await t.app.repos.sessions.get(aliceId))?.status).toBe('live');

    // Bob mentions the bot: his own app, in its own thread.
    const mention = await fake.sendText(group, bob, `@${fake.bot.username} a countdown to our trip`);
    const bobResult = await botMessage(
      fake,
      group,
      (m) => isResult(m) && m.messageId > aliceResult.messageId,
      "bob's result",
    );
    const bobId = appIdOf(bobResult);
    expect(bobId).not.toBe(aliceId);
    const bobStatus = fake.botMessages(group).find((m) => m.replyTo === mention.message.messageId)!;
    expect(appIdOf(bobStatus)).toBe(bobId);
    const [aliceSession, bobSession] = [
      await t.app.repos.sessions.get(aliceId),
      await t.app.repos.sessions.get(bobId),
    ];
    expect(aliceSession?.conversation?.threadId).toBe(String(aliceStatus.messageId));
    expect(bobSession?.conversation?.threadId).toBe(String(bobStatus.messageId));

    // Alice replies to her result message (not the status): a change to her app, not Bob's.
    await fake.sendText(group, alice, 'call it Crux Wall Guestbook', { replyTo: aliceResult.messageId });
    const change = await botMessage(
      fake,
      group,
      (m) => /Change #2 is live/.test(m.text ?? '') && appIdOf(m) === aliceId,
      "alice's change",
    );
    expect(await (await fetchPreview(previewUrl(change))).text()).toContain('Crux Wall Guestbook');
    expect(await t.app.repos.builds.listForSession(aliceId)).toHaveLength(2);
    expect(await t.app.repos.builds.listForSession(bobId)).toHaveLength(1);
    expect(await sessionsOf(h, bob)).toHaveLength(1);
    for (const id of [aliceId, bobId])
      await t.app.lifecycle.end((await t.app.repos.sessions.get(id))!, 'stopped', 'test', 'done');
  });
});
