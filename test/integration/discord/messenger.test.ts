import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordMessenger, type DiscordMessenger } from '../../../adapters/discord/messenger.js';
import { DiscordApi } from '../../../adapters/discord/rest.js';
import type { ConversationRef } from '../../../src/core/platform.js';
import type { ReplyView } from '../../../src/core/view.js';
import { silentLogger } from '../../../src/log.js';
import { embedOf, type FakeChannel, FakeDiscord, type FakeUser } from '../../fakes/discord/harness.js';
import { spawnErrorOf } from '../../helpers/spawn-error.js';

let fake: FakeDiscord;
let general: FakeChannel;
let guildId: string;
let alice: FakeUser;
const apis: DiscordApi[] = [];

beforeAll(async () => {
  fake = await new FakeDiscord({ bucket: { limit: 3, windowMs: 1500 } }).start();
  const { guild, channel } = fake.addGuild();
  general = channel;
  guildId = guild.id;
  alice = fake.user('alice');
});
afterEach(() => {
  for (const api of apis.splice(0)) api.close();
});
afterAll(async () => {
  await fake?.stop();
});

function messenger(options: { token?: string; timeoutMs?: number } = {}): DiscordMessenger {
  const api = new DiscordApi({
    apiUrl: fake.apiUrl,
    token: options.token ?? fake.botToken,
    applicationId: fake.applicationId,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  apis.push(api);
  return createDiscordMessenger({ api, logger: silentLogger() });
}

const view = (title: string): ReplyView => ({ tone: 'progress', title, text: 'working on it' });
const channelConversation = (channelId: string): ConversationRef => ({
  platform: 'discord',
  teamId: guildId,
  channelId,
});

describe('discord messenger over REST', () => {
  it('opens a thread from a mention, posts there, and reuses the thread when the post is retried', async () => {
    const m = messenger();
    const start = fake.say(alice, general.id, 'a quiz about knots', { mentionBot: true });
    const conversation: ConversationRef = {
      ...channelConversation(general.id),
      threadId: start.id,
      extra: { startMessageId: start.id },
    };
    const first = await m.post(conversation, view('Knot quiz'));
    expect(first.conversation).toEqual({ platform: 'discord', teamId: guildId, channelId: start.id });
    expect(fake.channels.get(start.id)).toMatchObject({ type: 11, name: 'Knot quiz', parent_id: general.id });
    // A retried job: Discord says the thread exists (160004); it has the message's id.
    const again = await m.post(conversation, view('Knot quiz'));
    expect(again.conversation.channelId).toBe(start.id);
    expect(fake.messagesIn(start.id)).toHaveLength(2);
    await m.update(first, { ...view('Knot quiz'), tone: 'success', text: 'live' });
    expect(fake.messages.get(first.messageId)?.history).toHaveLength(2);
  });

  it('answers in the channel when no thread can be opened there', async () => {
    const m = messenger();
    const thread = fake.addChannel(guildId, 'already-a-thread', 11);
    const start = fake.say(alice, thread.id, 'a packing list', { mentionBot: true });
    const ref = await m.post(
      { ...channelConversation(thread.id), threadId: start.id, extra: { startMessageId: start.id } },
      view('Packing list'),
    );
    expect(ref.conversation.channelId).toBe(thread.id);
    expect(fake.messages.get(ref.messageId)?.message_reference?.message_id).toBe(start.id);
  });

  it('waits out a short Retry-After and retries', async () => {
    const m = messenger();
    const channel = fake.addChannel(guildId, 'short-limit');
    fake.buckets.force(new RegExp(`POST /channels/${channel.id}/messages$`), 1, 1);
    await m.post(channelConversation(channel.id), view('After a wait'));
    const posts = fake.requests.filter((r) => r.route === `POST /channels/${channel.id}/messages`);
    expect(posts.map((r) => r.status)).toEqual([429, 200]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('gives a long Retry-After back as ERR_PLATFORM_RATE_LIMITED with retryAfterMs', async () => {
    const m = messenger();
    const channel = fake.addChannel(guildId, 'long-limit');
    fake.buckets.force(new RegExp(`POST /channels/${channel.id}/messages$`), 30, 1);
    const e = await spawnErrorOf(m.post(channelConversation(channel.id), view('Later')));
    expect(e.code).toBe('ERR_PLATFORM_RATE_LIMITED');
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(30_000);
    // Handed back at once: the one refused request, no wait in process and no retry.
    const posts = fake.requests.filter((r) => r.route === `POST /channels/${channel.id}/messages`);
    expect(posts.map((r) => r.status)).toEqual([429]);
  });

  it('keeps to the bucket the headers describe instead of running into 429s', async () => {
    const m = messenger();
    const channel = fake.addChannel(guildId, 'bucket');
    const limitedBefore = fake.buckets.limited.length;
    const started = Date.now();
    for (let n = 0; n < 4; n++) await m.post(channelConversation(channel.id), view(`Message ${n}`));
    // The fourth waited for the bucket (3 per 1.5 s) to reset: no 429 was needed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fake.buckets.limited.length).toBe(limitedBefore);
    expect(fake.messagesIn(channel.id)).toHaveLength(4);
  });

  it('maps 401, 403, 404, 5xx and timeouts onto ERR_PLATFORM_* codes, without secrets', async () => {
    const wrongToken = 'wrong.token-value-that-must-not-leak';
    const auth = await spawnErrorOf(
      messenger({ token: wrongToken }).post(channelConversation(general.id), view('x')),
    );
    expect(auth.code).toBe('ERR_PLATFORM_AUTH');
    expect(JSON.stringify({ message: auth.message, user: auth.userMessage })).not.toContain(wrongToken);

    const m = messenger({ timeoutMs: 300 });
    const locked = fake.addChannel(guildId, 'locked');
    locked.forbidden = true;
    expect((await spawnErrorOf(m.post(channelConversation(locked.id), view('x')))).code).toBe(
      'ERR_PLATFORM_PERMISSION',
    );
    expect((await spawnErrorOf(m.post(channelConversation('99999999999'), view('x')))).code).toBe(
      'ERR_PLATFORM_NOT_FOUND',
    );
    expect(
      (
        await spawnErrorOf(
          m.update({ conversation: channelConversation(general.id), messageId: '12345678' }, view('x')),
        )
      ).code,
    ).toBe('ERR_PLATFORM_NOT_FOUND');

    const flaky = fake.addChannel(guildId, 'flaky');
    fake.failNext(new RegExp(`POST /channels/${flaky.id}/messages$`), 502, 1);
    await m.post(channelConversation(flaky.id), view('after one 502'));
    expect(fake.messagesIn(flaky.id)).toHaveLength(1);
    fake.failNext(new RegExp(`POST /channels/${flaky.id}/messages$`), 503, 3);
    const down = await spawnErrorOf(m.post(channelConversation(flaky.id), view('x')));
    expect(down).toMatchObject({ code: 'ERR_PLATFORM_UNAVAILABLE', retryable: true });

    const slow = fake.addChannel(guildId, 'slow');
    // Slow answers that would succeed: only our own timeout can turn them into this error.
    fake.delayNext(new RegExp(`POST /channels/${slow.id}/messages$`), 1500, 3);
    const timedOut = await spawnErrorOf(m.post(channelConversation(slow.id), view('x')));
    expect(timedOut.code).toBe('ERR_PLATFORM_UNAVAILABLE');
    expect(timedOut.message).toContain('timed out');
  });

  it('renders the card as an embed with a progress bar, fields and buttons Discord accepts', async () => {
    const m = messenger();
    const ref = await m.post(channelConversation(general.id), {
      tone: 'progress',
      title: 'A *bold* _plan_ @everyone',
      text: 'wrote server.js (3/5)',
      progress: { stage: 'building', percent: 60 },
      fields: [
        { label: 'Stage', value: 'Building' },
        { label: 'Cost so far', value: '$0.00' },
      ],
      buttons: [
        { kind: 'link', label: 'Open preview', url: 'http://127.0.0.1:4000' },
        { kind: 'action', label: 'Extend', action: 'extend', sessionId: 'k7fq2m9xwd' },
        { kind: 'action', label: 'Stop', action: 'stop', sessionId: 'k7fq2m9xwd', style: 'danger' },
        { kind: 'link', label: 'Upgrade', url: 'https://checkout.example/pay' },
      ],
      footer: 'Built by the offline builder.',
    });
    const message = fake.messages.get(ref.messageId)!;
    const embed = embedOf(message)!;
    expect(embed.title).toBe('A \\*bold\\* \\_plan\\_ @\u200beveryone');
    expect(embed.fields).toEqual([
      { name: 'Progress', value: '▓▓▓▓▓▓░░░░ 60%', inline: false },
      { name: 'Stage', value: 'Building', inline: true },
      { name: 'Cost so far', value: '$0.00', inline: true },
    ]);
    expect(message.components[0]!.components).toEqual([
      { type: 2, style: 5, label: 'Open preview', url: 'http://127.0.0.1:4000' },
      { type: 2, style: 2, label: 'Extend', custom_id: 'extend:k7fq2m9xwd' },
      { type: 2, style: 4, label: 'Stop', custom_id: 'stop:k7fq2m9xwd' },
      { type: 2, style: 5, label: 'Upgrade', url: 'https://checkout.example/pay' },
    ]);
  });
});
