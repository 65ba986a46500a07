import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Update } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import {
  addressedText,
  type BotIdentity,
  isGroupChat,
  repliedBotMessage,
  startsNewApp,
  toIncomingMessage,
} from '../../../adapters/telegram/parse.js';
import { parseCallbackData } from '../../../adapters/telegram/render.js';
import { parseUpdate } from '../../../adapters/telegram/verify.js';
import { conversationKey } from '../../../src/core/platform.js';
import { isSpawnError } from '../../../src/errors.js';

/** Updates shaped like Telegram's documented ones, replayed through parse → normalize. */
interface Fixture {
  description: string;
  update: unknown;
  expect: Record<string, unknown> & { kind: string };
}

const DIR = path.resolve(import.meta.dirname, '../../fixtures/telegram');
const BOT: BotIdentity = { id: 7000001, username: 'SpawnAIBot' };
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as Fixture] as const);

/** What the handlers make of an update (the same steps, in the same order). */
function decide(update: Update): Record<string, unknown> {
  const message = update.message;
  if (message?.successful_payment) {
    return { kind: 'payment', chargeId: message.successful_payment.telegram_payment_charge_id };
  }
  if (update.pre_checkout_query) return { kind: 'pre_checkout' };
  if (update.callback_query) {
    const action = parseCallbackData(update.callback_query.data);
    return action ? { kind: 'action', ...action } : { kind: 'action-invalid' };
  }
  if (message?.text !== undefined && message.from) {
    const text = addressedText(message, BOT);
    if (text === undefined) return { kind: 'ignored' };
    const replied = isGroupChat(message.chat) ? repliedBotMessage(message, BOT) : undefined;
    const newApp = startsNewApp(text);
    const thread = replied !== undefined && !newApp ? String(replied) : undefined;
    const incoming = toIncomingMessage(update.update_id, { ...message, from: message.from }, text, thread);
    return {
      kind: 'message',
      text,
      newApp,
      ...(replied !== undefined ? { replyToBot: replied } : {}),
      conversationKey: conversationKey(incoming.conversation),
      idempotencyKey: incoming.idempotencyKey,
      user: incoming.user,
      extra: incoming.conversation.extra,
    };
  }
  return { kind: 'ignored' };
}

describe('Telegram fixtures', () => {
  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
  });

  it.each(fixtures)('%s', (_file, fixture) => {
    let update: Update;
    try {
      update = parseUpdate(fixture.update);
    } catch (e) {
      expect(isSpawnError(e) && e.code).toBe('ERR_BAD_REQUEST');
      expect(fixture.expect.kind).toBe('invalid');
      return;
    }
    expect(fixture.expect.kind).not.toBe('invalid');
    expect(decide(update)).toMatchObject(fixture.expect);
  });
});
