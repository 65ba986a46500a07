import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_HEADER } from '../../fakes/telegram/server.js';
import {
  botMessage,
  isResult,
  SECRET,
  sessionsOf,
  startTelegram,
  type TelegramHarness,
  textUpdate,
} from './harness.js';

let h: TelegramHarness;
let webhook: string;
beforeAll(async () => {
  h = await startTelegram('webhook');
  webhook = `${h.t.url}/telegram/webhook`;
});
afterAll(async () => {
  await h?.stop();
});

async function jobs(): Promise<number> {
  const counts = await h.t.app.queues.spawn.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('Telegram webhook: verification and duplicates', () => {
  it('answers a wrong or missing secret token with 401 and changes nothing', async () => {
    const { fake } = h;
    const mallory = fake.user('Mallory');
    const chat = fake.privateChat(mallory);
    const update = textUpdate(fake, chat, mallory, '/spawn a phishing page');
    const before = await jobs();

    for (const secret of ['wrong_secret', null, `${SECRET}x`, SECRET.slice(0, -1)]) {
      const res = await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { [SECRET_HEADER]: secret } : {}) },
        body: JSON.stringify(update),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { code: 'ERR_TELEGRAM_SECRET', message: 'Invalid Telegram secret token.' },
      });
    }
    // Not even a body that is no JSON at all is read before the secret is checked.
    const garbage = await fetch(webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(garbage.status).toBe(401);

    expect(await jobs()).toBe(before);
    expect(await sessionsOf(h, mallory)).toEqual([]);
    expect(fake.botMessages(chat)).toEqual([]);
    // Nothing was recorded either: the genuine delivery of the same update is handled.
    expect(await fake.push(update)).toBe(200);
    await botMessage(fake, chat, (m) => isResult(m), 'the genuine delivery built');
    expect(await sessionsOf(h, mallory)).toHaveLength(1);
  });

  it('refuses malformed updates with the right secret (400) and changes nothing', async () => {
    const before = await jobs();
    const bodies: [string, string, number][] = [
      ['application/json', 'not json', 400],
      ['application/json', '[]', 400],
      ['application/json', '{}', 400],
      ['application/json', '{"update_id": -1}', 400],
      ['application/json', '{"update_id": 1.5}', 400],
      ['application/json', '{"update_id": 7, "message": "hello"}', 400],
      [
        'application/json',
        '{"update_id": 8, "message": {"message_id": 1, "chat": {"type": "private"}}}',
        400,
      ],
      ['application/json', '{"update_id": 9, "callback_query": {"id": 5}}', 400],
      ['application/json', '{"update_id": 10, "pre_checkout_query": {"id": "x", "from": {"id": 1}}}', 400],
      ['text/plain', '{"update_id": 11}', 400],
      ['application/xml', '<update/>', 415],
    ];
    for (const [type, body, status] of bodies) {
      const res = await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': type, [SECRET_HEADER]: SECRET },
        body,
      });
      expect(res.status, body).toBe(status);
    }
    const huge = await fetch(webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SECRET_HEADER]: SECRET },
      body: JSON.stringify({ update_id: 12, pad: 'x'.repeat(400_000) }),
    });
    expect(huge.status).toBe(413);
    expect(await jobs()).toBe(before);
  });

  it('builds once when the same update arrives twice, one after the other or at the same time', async () => {
    const { fake, t } = h;
    const carol = fake.user('Carol');
    const chat = fake.privateChat(carol);
    const update = textUpdate(fake, chat, carol, '/spawn a guestbook for our wedding');
    expect(await fake.push(update)).toBe(200);
    expect(await fake.push(update)).toBe(200);
    await botMessage(fake, chat, (m) => isResult(m), 'the result');
    const [session, ...others] = await sessionsOf(h, carol);
    expect(others).toEqual([]);
    expect(await t.app.repos.builds.listForSession(session!.id)).toHaveLength(1);

    const change = textUpdate(fake, chat, carol, 'add a photo wall');
    const statuses = await Promise.all([1, 2, 3].map(() => fake.push(change)));
    expect(statuses).toEqual([200, 200, 200]);
    await botMessage(fake, chat, (m) => /Change #2 is live/.test(m.text ?? ''), 'change #2');
    expect(await t.app.repos.builds.listForSession(session!.id)).toHaveLength(2);
    expect(await sessionsOf(h, carol)).toHaveLength(1);
    // One status card per change and one result per change: nothing was said twice.
    expect(fake.botMessages(chat)).toHaveLength(4);
  });
});
