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
  h = await startTelegram('polling', { OFFLINE_BUILD_STEP_MS: '150' });
});
afterAll(async () => {
  await h?.stop();
});

describe('Telegram by long polling (no webhook secret)', () => {
  it('deletes any webhook first, registers the commands, and serves no webhook route', async () => {
    const { fake, t } = h;
    const [deleted] = fake.calls('deleteWebhook');
    const firstPoll = await until('the first poll', async () => fake.calls('getUpdates')[0]);
    expect(deleted?.status).toBe(200);
    expect(firstPoll!.at).toBeGreaterThanOrEqual(deleted!.at);
    expect(firstPoll!.body).toMatchObject({
      timeout: 30,
      allowed_updates: ['message', 'callback_query', 'pre_checkout_query'],
    });
    expect(fake.state.commands?.map((c) => c.command)).toEqual([
      'spawn',
      'status',
      'list',
      'stop',
      'extend',
      'link',
      'help',
      'start',
    ]);
    const res = await fetch(`${t.url}/telegram/webhook`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });

  it('/spawn → edited status → result with a working preview; a reply iterates', async () => {
    const { fake, t } = h;
    const dana = fake.user('Dana');
    const chat = fake.privateChat(dana);
    await fake.sendText(chat, dana, '/spawn a habit tracker with streaks');
    const result = await botMessage(fake, chat, (m) => isResult(m), 'the result');
    const url = previewUrl(result);
    expect((await fetchPreview(url)).status).toBe(200);
    const [status] = fake.botMessages(chat);
    expect(status!.edits.length).toBeGreaterThan(0);
    expect(status!.text).toContain(`Live at ${url}`);

    // In a private chat a plain message, reply or not, continues the app.
    await fake.sendText(chat, dana, 'call it Streak Keeper', { replyTo: status!.messageId });
    const change = await botMessage(fake, chat, (m) => /Change #2 is live/.test(m.text ?? ''), 'change #2');
    expect(appIdOf(change)).toBe(appIdOf(result));
    expect(await (await fetchPreview(url)).text()).toContain('Streak Keeper');
    expect(await t.app.repos.builds.listForSession(appIdOf(result))).toHaveLength(2);
  });

  it('in a group takes only addressed messages', async () => {
    const { fake } = h;
    const group = fake.group('Runners', { supergroup: false });
    const erin = fake.user('Erin');
    const finn = fake.user('Finn');
    await fake.sendText(group, finn, 'who is running the half marathon?');
    await fake.sendText(group, finn, '/spawn@another_bot a pace calculator');
    await fake.sendText(group, erin, `@${fake.bot.username} a pace calculator for our club`);
    const result = await botMessage(fake, group, (m) => isResult(m), "erin's result");
    expect((await fetchPreview(previewUrl(result))).status).toBe(200);
    expect(await sessionsOf(h, finn)).toEqual([]);
    expect(await sessionsOf(h, erin)).toHaveLength(1);
    // Every message getUpdates handed over was confirmed: nothing is left pending.
    await until('updates confirmed', async () => fake.state.pending.length === 0);
  });

  it('drops an update delivered again (e.g. after a restart before its offset was confirmed)', async () => {
    const { fake } = h;
    const gus = fake.user('Gus');
    const chat = fake.privateChat(gus);
    const { update } = await fake.sendText(chat, gus, '/spawn a recipe box');
    await botMessage(fake, chat, (m) => isResult(m), 'the result');
    await fake.deliver(update);
    await fake.deliver(update);
    await until('redeliveries consumed', async () => fake.state.pending.length === 0);
    const [session, ...more] = await sessionsOf(h, gus);
    expect(more).toEqual([]);
    expect(await h.t.app.repos.builds.listForSession(session!.id)).toHaveLength(1);
    expect(fake.botMessages(chat)).toHaveLength(2);
  });
});
