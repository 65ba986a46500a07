import { expect } from 'vitest';
import { adapterConformance, CONFORMANCE_ENV, type Delivery } from '../../contract/adapter-conformance.js';
import { type FakeChat, type FakeUser, SECRET_HEADER } from '../../fakes/telegram/server.js';
import { SECRET, startTelegram, type TelegramHarness, textUpdate } from '../telegram/harness.js';
import { post } from './post.js';

interface Person {
  readonly user: FakeUser;
  readonly chat: FakeChat;
}

let h: TelegramHarness;
const webhook = () => `${h.t.url}/telegram/webhook`;
const json = { 'content-type': 'application/json' };
const signed = { ...json, [SECRET_HEADER]: SECRET };

/**
 * An update from this person, as Telegram would deliver it (the same bytes every time), through
 * the fake's webhook pusher: it carries out a method the answer names, as Telegram does.
 */
function delivery(p: Person, text: string): Delivery {
  const body = JSON.stringify(textUpdate(h.fake, p.chat, p.user, text));
  const withSecret = (secret: string | null) => () => h.fake.pushBody(body, { secret });
  return {
    send: withSecret(SECRET),
    forgeries: () => [
      { what: 'wrong secret token', status: 401, send: withSecret('wrong_secret') },
      { what: 'no secret token', status: 401, send: withSecret(null) },
      { what: 'secret token plus one', status: 401, send: withSecret(`${SECRET}x`) },
      { what: 'secret token less one', status: 401, send: withSecret(SECRET.slice(0, -1)) },
    ],
  };
}

adapterConformance<Person>({
  platform: 'telegram',
  async start() {
    h = await startTelegram('webhook', {
      FREE_LIVE_SESSIONS: '50',
      OFFLINE_BUILD_STEP_MS: '100',
      ...CONFORMANCE_ENV,
    });
    return h.t;
  },
  stop: () => h.stop(),
  async person(name) {
    const user = h.fake.user(name);
    return { user, chat: h.fake.privateChat(user) };
  },
  identity: (p) => ({ teamId: '', userId: String(p.user.id) }),
  message: (p, words) => delivery(p, `/spawn ${words}`),
  raw: (p, words) => ({
    url: webhook(),
    headers: signed,
    body: JSON.stringify(textUpdate(h.fake, p.chat, p.user, `/spawn ${words}`)),
  }),
  overloaded: {
    comesBack: 'redelivery',
    why: 'Telegram repeats a delivery answered with anything but 2xx (https://core.telegram.org/bots/api#setwebhook)',
  },
  expectAccepted(answer) {
    // Telegram repeats a delivery that did not get a 2xx, and gives up after some attempts
    // (https://core.telegram.org/bots/api#setwebhook): a handled update is a 2xx.
    expect(answer.status).toBe(200);
  },
  // Telegram signs nothing with a time: a repeated update is caught by its update_id.
  timestamped: false,
  malformed(p) {
    const from = JSON.stringify(p.user);
    const id = () => h.fake.state.updateId();
    const bodies: [string, string, string, number][] = [
      ['not JSON', 'application/json', '{"update_id": ', 400],
      ['a JSON array', 'application/json', '[]', 400],
      ['no update_id', 'application/json', `{"message": {"message_id": 1, "from": ${from}}}`, 400],
      ['a negative update_id', 'application/json', '{"update_id": -1}', 400],
      ['a message that is a string', 'application/json', `{"update_id": ${id()}, "message": "hello"}`, 400],
      [
        'a message without a chat id',
        'application/json',
        `{"update_id": ${id()}, "message": {"message_id": 1, "from": ${from}, "chat": {"type": "private"}, "text": "/spawn x"}}`,
        400,
      ],
      [
        'a raw NUL byte after the JSON',
        'application/json',
        `{"update_id": ${id()}, "message": {"message_id": 1, "from": ${from}, "chat": {"id": ${p.chat.id}, "type": "private"}, "date": 1, "text": "/spawn x"}}\u0000`,
        400,
      ],
      [
        'a raw NUL byte inside a string',
        'application/json',
        `{"update_id": ${id()}, "message": {"message_id": 1, "from": ${from}, "chat": {"id": ${p.chat.id}, "type": "private"}, "date": 1, "text": "/spawn a\u0000b"}}`,
        400,
      ],
      ['text/plain', 'text/plain', `{"update_id": ${id()}}`, 400],
      ['XML', 'application/xml', '<update/>', 415],
    ];
    return bodies.map(([what, type, body, status]) => ({
      what,
      status,
      send: () => post(webhook(), { 'content-type': type, [SECRET_HEADER]: SECRET }, body),
    }));
  },
  oversized: () => ({
    what: 'a 400 kB update',
    status: 413,
    send: () => post(webhook(), signed, JSON.stringify({ update_id: 12, pad: 'x'.repeat(400_000) })),
  }),
  async seen(p) {
    return h.fake.botMessages(p.chat).map((m) => ({
      id: String(m.messageId),
      text: m.text ?? '',
      before: [m.firstText ?? '', ...m.edits.map((e) => e.text)].slice(0, m.edits.length),
    }));
  },
  conversation: (p) => ({ platform: 'telegram', teamId: '', channelId: String(p.chat.id) }),
  limit: {
    // A message's text is 1-4096 characters after entities parsing
    // (https://core.telegram.org/bots/api#sendmessage); the fake refuses longer ones too.
    describe: '4096 characters',
    check: (m) => expect(m.text.length).toBeLessThanOrEqual(4096),
  },
  rateLimit: {
    refuseNext(_p, retryAfterS) {
      // Telegram's flood answer: 429 with parameters.retry_after in seconds
      // (https://core.telegram.org/bots/api#responseparameters).
      for (const method of ['sendMessage', 'editMessageText']) {
        h.fake.failNext(method, 429, `Too Many Requests: retry after ${retryAfterS}`, {
          retryAfter: retryAfterS,
        });
      }
    },
    refused(p) {
      const calls = h.fake.state.calls.filter((c) => c.chatId === p.chat.id);
      return h.fake.state.limited
        .filter((l) => l.chatId === p.chat.id)
        .map((l) => ({
          limitedAt: l.at,
          retryAfterMs: l.retryAfter * 1000,
          retriedAt: calls.find((c) => c.method === l.method && c.status === 200 && c.at > l.at)?.at,
        }));
    },
  },
});
