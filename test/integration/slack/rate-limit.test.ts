import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slashCommand } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { ALICE, BOB, previewUrlIn, type SlackHarness, shown, startSlackApp } from './harness.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp(
    { OFFLINE_BUILD_STEP_MS: '300' },
    // Two posts at once per channel, then one every two seconds.
    { postLimit: { burst: 2, perSecond: 0.5 }, retryAfterS: 1 },
  );
  h.fake.rateLimitEvery('chat.update', 3);
  h.fake.rateLimitEvery('chat.postMessage', 3);
});
afterAll(async () => {
  await h?.stop();
});

describe('slack: rate limits (429 + Retry-After)', () => {
  it('still delivers every final state when every third chat.update and bursts of posts get 429', async () => {
    const { fake, t } = h;
    const channel = 'C0BUSY';
    const prompts = [
      [ALICE, 'a todo list for the climbing gym'],
      [BOB, 'a landing page for a bakery'],
    ] as const;
    for (const [who, text] of prompts) {
      expect((await fake.signer.command(slashCommand(fake, { ...who, channel, text }))).status).toBe(200);
    }
    const cards = await until(
      'two cards',
      async () => {
        const top = fake.topLevel(channel);
        return top.length === 2 ? top : undefined;
      },
      20_000,
    );
    for (const card of cards) {
      const result = await until(
        `result under ${card.ts}`,
        async () => fake.inThread(channel, card.ts).find((m) => /is ready/.test(shown(m))),
        30_000,
      );
      expect((await fetchPreview(previewUrlIn(result)!)).status).toBe(200);
      // The card's last edit is the final, live state.
      await until('card live', async () => /Live ▓▓▓▓▓▓▓▓▓▓ 100%/.test(card.text));
    }
    const limited = fake.calls.filter((c) => c.status === 429);
    expect(limited.filter((c) => c.method === 'chat.update').length).toBeGreaterThan(0);
    expect(limited.filter((c) => c.method === 'chat.postMessage').length).toBeGreaterThan(0);
    // Waiting out a 429 is not a failed delivery: no notify job ended failed.
    const counts = await t.app.queues.notify.getJobCounts('failed');
    expect(counts.failed).toBe(0);
  });
});
