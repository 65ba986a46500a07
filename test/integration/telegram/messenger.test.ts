import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApi } from '../../../adapters/telegram/api.js';
import { createTelegramMessenger, type TelegramMessenger } from '../../../adapters/telegram/messenger.js';
import { defaultPacing, TelegramBudget, type TelegramPacing } from '../../../adapters/telegram/pacing.js';
import { ThreadMap } from '../../../adapters/telegram/threads.js';
import type { ConversationRef } from '../../../src/core/platform.js';
import type { ReplyView } from '../../../src/core/view.js';
import { isSpawnError, type SpawnError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { FakeTelegram } from '../../fakes/telegram/server.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';

const TOKEN = '777:messenger-test';
let fake: FakeTelegram;
let redis: Redis;
let prefix: string;
const prefixes: string[] = [];
let pacing: TelegramPacing;
let messenger: TelegramMessenger;
let threads: ThreadMap;

function build(token = TOKEN, root = fake.url): TelegramMessenger {
  return createTelegramMessenger({
    api: createApi(token, root, 3),
    budget: new TelegramBudget(redis, prefix, token.split(':')[0]!, pacing),
    threads,
    pacing,
    logger: createLogger('silent'),
  });
}

async function failure(p: Promise<unknown>): Promise<SpawnError> {
  try {
    await p;
  } catch (e) {
    if (isSpawnError(e)) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

const card = (text: string, extra: Partial<ReplyView> = {}): ReplyView => ({
  tone: 'progress',
  title: 'A <todo> list & more',
  text,
  progress: { stage: 'building', percent: 40, detail: 'wrote server.js (2/5)' },
  fields: [{ label: 'Stage', value: 'Building' }],
  buttons: [
    { kind: 'link', label: 'Open preview', url: 'https://todo.example.app' },
    { kind: 'link', label: 'Local', url: 'http://localhost:4000' },
    { kind: 'action', label: 'Stop', action: 'stop', sessionId: 'k7fq2m9xwd', style: 'danger' },
  ],
  ...extra,
});

const conv = (chatId: number, extra: Record<string, string> = {}, threadId?: string): ConversationRef => ({
  platform: 'telegram',
  teamId: '',
  channelId: String(chatId),
  ...(threadId ? { threadId } : {}),
  extra: { chatType: chatId < 0 ? 'supergroup' : 'private', ...extra },
});

beforeAll(async () => {
  fake = await new FakeTelegram({ token: TOKEN }).start();
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
});
beforeEach(() => {
  prefix = uniquePrefix();
  prefixes.push(prefix);
  pacing = defaultPacing();
  threads = new ThreadMap(redis, prefix);
  messenger = build();
});
afterAll(async () => {
  await fake?.stop();
  if (redis) {
    for (const p of prefixes) await cleanupPrefix(p);
    redis.disconnect();
  }
});

describe('the Telegram messenger against the fake Bot API', () => {
  it('posts escaped HTML with a progress bar and a keyboard; a private chat has no thread', async () => {
    const chat = fake.privateChat(fake.user('Ann'));
    const ref = await messenger.post(conv(chat.id), card('Building <b>now</b> & "soon"'));
    expect(ref.conversation).toEqual(conv(chat.id));
    const [m] = fake.botMessages(chat);
    expect(m!.text).toContain('A <todo> list & more');
    expect(m!.text).toContain('Building <b>now</b> & "soon"');
    expect(m!.text).toContain('▓▓▓▓░░░░░░ 40% wrote server.js (2/5)');
    // The localhost link stays out of the keyboard (Telegram refuses it); the others are buttons.
    expect(m!.replyMarkup).toEqual({
      inline_keyboard: [
        [{ text: 'Open preview', url: 'https://todo.example.app' }],
        [{ text: 'Stop', callback_data: 'stop:k7fq2m9xwd' }],
      ],
    });
    expect(messenger.editIntervalMs(ref.conversation)).toBe(1_100);
  });

  it('in a group, the first status message becomes the thread every later message answers', async () => {
    const group = fake.group('Team');
    const first = await messenger.post(conv(group.id, { replyTo: '1' }), card('queued'));
    expect(first.conversation.threadId).toBe(first.messageId);
    expect(first.conversation.extra).toEqual({ chatType: 'supergroup' });
    expect(messenger.editIntervalMs(first.conversation)).toBe(3_100);
    const result = await messenger.post(first.conversation, card('live', { tone: 'success' }));
    const [, second] = fake.botMessages(group);
    expect(second!.replyTo).toBe(Number(first.messageId));
    expect(await threads.threadOf(String(group.id), result.messageId)).toBe(first.messageId);
  });

  it('treats "message is not modified" as done, and removes the keyboard of a card without buttons', async () => {
    const chat = fake.privateChat(fake.user('Ben'));
    const ref = await messenger.post(conv(chat.id), card('building'));
    await messenger.update(ref, card('building'));
    expect(fake.calls('editMessageText').at(-1)!.status).toBe(400);
    await messenger.update(ref, { tone: 'info', title: 'Stopped', text: 'The app has been removed.' });
    const [m] = fake.botMessages(chat);
    expect(m!.replyMarkup).toBeUndefined();
    expect(m!.edits).toHaveLength(1);
  });

  it('maps Telegram failures onto our error codes, without the token', async () => {
    const chat = fake.privateChat(fake.user('Cy'));
    const missing = await failure(
      messenger.update({ conversation: conv(chat.id), messageId: '999' }, card('x')),
    );
    expect(missing.code).toBe('ERR_PLATFORM_NOT_FOUND');
    expect((await failure(messenger.post(conv(-42), card('x')))).code).toBe('ERR_PLATFORM_NOT_FOUND');

    const blocked = fake.privateChat(fake.user('Dee'));
    fake.block(blocked);
    expect((await failure(messenger.post(conv(blocked.id), card('x')))).code).toBe('ERR_PLATFORM_PERMISSION');

    fake.failNext('sendMessage', 429, 'Too Many Requests: retry after 7', { retryAfter: 7 });
    const limited = await failure(messenger.post(conv(chat.id), card('x')));
    expect(limited.code).toBe('ERR_PLATFORM_RATE_LIMITED');
    expect(limited.retryAfterMs).toBe(7_000);

    // A short retry_after is waited out in process, once.
    fake.failNext('sendMessage', 429, 'Too Many Requests: retry after 1', { retryAfter: 1 });
    const started = Date.now();
    await messenger.post(conv(chat.id), card('after a second'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    fake.failNext('editMessageText', 502, 'Bad Gateway');
    const ref = await messenger.post(conv(chat.id), card('y'));
    expect((await failure(messenger.update(ref, card('z')))).code).toBe('ERR_PLATFORM_UNAVAILABLE');

    const wrong = await failure(build('777:not-the-token').post(conv(chat.id), card('x')));
    expect(wrong.code).toBe('ERR_PLATFORM_AUTH');
    expect(wrong.message).not.toContain('not-the-token');

    const down = await failure(build(TOKEN, 'http://127.0.0.1:9').post(conv(chat.id), card('x')));
    expect(down.code).toBe('ERR_PLATFORM_UNAVAILABLE');
    expect(down.message).not.toContain(TOKEN);
  });

  it('keeps a group within its budget: over it, a rate-limit error saying when', async () => {
    pacing.groupMessages = 3;
    pacing.groupWindowMs = 3_000;
    const group = fake.group('Budget');
    for (let i = 0; i < 3; i++) await messenger.post(conv(group.id), card(`message ${i}`));
    const spent = await failure(messenger.post(conv(group.id), card('one too many')));
    expect(spent.code).toBe('ERR_PLATFORM_RATE_LIMITED');
    expect(spent.retryAfterMs).toBeGreaterThan(1_000);
    expect(spent.retryAfterMs).toBeLessThanOrEqual(3_500);
    expect(fake.botMessages(group)).toHaveLength(3);
    // Another group has a budget of its own; a private chat only the bot-wide one.
    await messenger.post(conv(fake.group('Other').id), card('fine'));
    await messenger.post(conv(fake.privateChat(fake.user('Eve')).id), card('fine'));
  });

  it('waits briefly in process when the bot-wide budget frees up within a second', async () => {
    pacing.globalPerSecond = 2;
    const chat = fake.privateChat(fake.user('Fay'));
    const started = Date.now();
    for (let i = 0; i < 3; i++) await messenger.post(conv(chat.id), card(`message ${i}`));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.botMessages(chat)).toHaveLength(3);
  });

  it('sends a Stars invoice: XTR, one price, no provider token', async () => {
    const chat = fake.privateChat(fake.user('Gil'));
    await messenger.sendInvoice(conv(chat.id), {
      title: 'SpawnAI Pro, 30 days',
      description: 'Pro for 30 days.',
      payload: 'order-1',
      label: 'Pro',
      stars: 250,
    });
    const [m] = fake.botMessages(chat);
    expect(m!.invoice).toEqual({
      title: 'SpawnAI Pro, 30 days',
      description: 'Pro for 30 days.',
      payload: 'order-1',
      currency: 'XTR',
      total_amount: 250,
    });
  });
});
