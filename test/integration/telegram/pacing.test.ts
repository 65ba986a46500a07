import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { botMessage, isResult, previewUrl, startTelegram, type TelegramHarness } from './harness.js';

/** Telegram allows 20 messages a minute in a group; the test scales the minute down to 6 s. */
const WINDOW_MS = 6_000;
const GROUP_MAX = 20;

let h: TelegramHarness;
beforeAll(async () => {
  h = await startTelegram(
    'webhook',
    { WORKER_CONCURRENCY: '5', FREE_LIVE_SESSIONS: '5', OFFLINE_BUILD_STEP_MS: '1000' },
    { groupLimit: { max: GROUP_MAX, windowMs: WINDOW_MS } },
  );
  // The whole pace scaled down 10x: the window, and the edit interval with it (3.1 s → 310 ms),
  // so five apps want far more edits than the group may receive.
  h.adapter.setPacing({ groupMessages: GROUP_MAX, groupWindowMs: WINDOW_MS, groupEditIntervalMs: 310 });
});
afterAll(async () => {
  await h?.stop();
});

describe('Telegram pacing', () => {
  it('keeps a group with 5 builds at once within its limit, and every result arrives', async () => {
    const { fake } = h;
    const group = fake.group('Hackathon');
    const things = ['todo list', 'guestbook', 'countdown', 'landing page', 'quiz'];
    const people = things.map((_, i) => fake.user(`Person ${i + 1}`));
    const sent = await Promise.all(
      people.map((p, i) => fake.sendText(group, p, `/spawn a ${things[i]} for our team`)),
    );
    expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);

    const results = await until(
      'five results',
      async () => {
        const found = fake.botMessages(group).filter((m) => isResult(m));
        return found.length === 5 ? found : undefined;
      },
      120_000,
      200,
    );
    // The fake counted every send and edit in the group: never more than 20 in any window,
    // so Telegram never had to say 429.
    expect(fake.busiestWindow(group, WINDOW_MS)).toBeLessThanOrEqual(GROUP_MAX);
    expect(fake.state.limited.filter((l) => l.chatId === group.id)).toEqual([]);
    // ...although the apps wanted more: the budget, not luck, kept it there.
    expect(fake.messageTimes(group).length).toBeGreaterThan(GROUP_MAX);
    for (const r of results) expect((await fetchPreview(previewUrl(r))).status).toBe(200);
    // Each status card ended live, edited in place (one per app, no extra messages).
    const cards = fake.botMessages(group).filter((m) => !isResult(m));
    expect(cards).toHaveLength(5);
    for (const card of cards) expect(card.text).toMatch(/Live at http/);
  });

  it("honours Telegram's 429 retry_after and still delivers the final message", async () => {
    const { fake } = h;
    const ivy = fake.user('Ivy');
    const chat = fake.privateChat(ivy);
    await fake.sendText(chat, ivy, '/spawn a reading list for our book club');
    await botMessage(fake, chat, () => true, 'the status card');
    // From now on Telegram is strict: the next edit and the next post are refused with retry_after
    // (3 s: longer than the bot waits in process, so the notify worker delays the delivery).
    fake.failNext('editMessageText', 429, 'Too Many Requests: retry after 3', { retryAfter: 3 });
    fake.failNext('sendMessage', 429, 'Too Many Requests: retry after 3', { retryAfter: 3 });
    const result = await botMessage(fake, chat, (m) => isResult(m), 'the result', 40_000);
    expect((await fetchPreview(previewUrl(result))).status).toBe(200);
    const limited = fake.state.limited.filter((l) => l.chatId === chat.id);
    expect(limited.map((l) => l.method).sort()).toEqual(['editMessageText', 'sendMessage']);
    // The next try of each came only after the retry_after Telegram asked for.
    for (const method of ['editMessageText', 'sendMessage']) {
      const calls = fake.calls(method).filter((c) => Number(c.body.chat_id) === chat.id);
      const lastRefusal = calls.filter((c) => c.status === 429).at(-1)!;
      const success = calls.find((c) => c.status === 200 && c.at > lastRefusal.at)!;
      expect(success.at - lastRefusal.at).toBeGreaterThanOrEqual(2_900);
    }
  });
});
