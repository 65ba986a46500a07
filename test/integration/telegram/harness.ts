import type { TelegramAdapter } from '../../../adapters/telegram/index.js';
import {
  type FakeChat,
  type FakeMessage,
  FakeTelegram,
  type FakeUser,
  type Update,
} from '../../fakes/telegram/server.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';

export const TOKEN = '123456:test-token';
export const SECRET = 'test_webhook_secret-1';

export interface TelegramHarness {
  fake: FakeTelegram;
  t: TestApp;
  adapter: TelegramAdapter;
  stop(): Promise<void>;
}

/**
 * The real app against a fake Telegram. `webhook`: TELEGRAM_WEBHOOK_SECRET set, the fake
 * pushes updates to `/telegram/webhook`; `polling`: no secret, the bot process long-polls.
 */
export async function startTelegram(
  mode: 'webhook' | 'polling',
  env: Record<string, string> = {},
  fakeOptions: ConstructorParameters<typeof FakeTelegram>[0] = {},
): Promise<TelegramHarness> {
  const fake = await new FakeTelegram({ token: TOKEN, ...fakeOptions }).start();
  let t: TestApp;
  try {
    t = await startTestApp(
      {
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: fake.url,
        ...(mode === 'webhook' ? { TELEGRAM_WEBHOOK_SECRET: SECRET } : {}),
        ...env,
      },
      mode === 'polling' ? { bot: true } : {},
    );
  } catch (e) {
    await fake.stop();
    throw e;
  }
  if (mode === 'webhook') fake.pushTo(`${t.url}/telegram/webhook`, SECRET);
  const adapter = t.app.adapters.find((a) => a.platform === 'telegram') as TelegramAdapter;
  return {
    fake,
    t,
    adapter,
    async stop() {
      await t.stop();
      await fake.stop();
    },
  };
}

/** The bot's first message in the chat whose text matches (waits for it). */
export function botMessage(
  fake: FakeTelegram,
  chat: FakeChat,
  match: (m: FakeMessage) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<FakeMessage> {
  return until(what, async () => fake.botMessages(chat).find(match), timeoutMs, 50);
}

export const isResult = (m: FakeMessage, title = ''): boolean =>
  m.edits.length === 0 && (m.text ?? '').includes(`${title}`) && /is ready/.test(m.text ?? '');

/** The URL of the live preview in a message's text. */
export function previewUrl(m: FakeMessage): string {
  const url = /(http:\/\/[a-z0-9-]+\.localhost:\d+)/.exec(m.text ?? '')?.[1];
  if (!url) throw new Error(`no preview URL in: ${m.text}`);
  return url;
}

/** The app id a bot message names in its footer ("App id k7fq2m9xwd."). */
export function appIdOf(m: FakeMessage): string {
  const id = /App id ([a-z0-9]+)\./.exec(m.text ?? '')?.[1];
  if (!id) throw new Error(`no app id in: ${m.text}`);
  return id;
}

/** A person's sessions, newest first (none when they never reached the conversation). */
export async function sessionsOf(h: TelegramHarness, user: FakeUser) {
  const identity = await h.t.app.repos.users.findIdentity('telegram', '', String(user.id));
  return identity ? h.t.app.repos.sessions.listByUser(identity.userId, { limit: 50 }) : [];
}

/** A text update as Telegram would send it, not delivered yet (for forged and repeated deliveries). */
export function textUpdate(fake: FakeTelegram, chat: FakeChat, from: FakeUser, text: string): Update {
  const command = /^\/\w+/.exec(text);
  return {
    update_id: fake.state.updateId(),
    message: {
      message_id: fake.state.messageId(chat.id),
      from,
      chat,
      date: Math.floor(Date.now() / 1000),
      text,
      ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
    },
  };
}
