import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Update } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { busyWebhookAnswer } from '../../../adapters/telegram/busy.js';
import type { BotIdentity } from '../../../adapters/telegram/parse.js';
import { BUSY_NOTE } from '../../../bots/busy.js';

const DIR = path.resolve(import.meta.dirname, '../../fixtures/telegram');
const BOT: BotIdentity = { id: 7000001, username: 'SpawnAIBot' };
const update = (name: string) =>
  (JSON.parse(readFileSync(path.join(DIR, `${name}.json`), 'utf8')) as { update: Update }).update;

/** The busy note in a webhook answer: only for text messages the bot would answer. */
describe('busyWebhookAnswer', () => {
  it('answers a private message with a sendMessage to its chat', () => {
    const u = update('private-spawn');
    expect(busyWebhookAnswer(u, BOT)).toEqual({
      method: 'sendMessage',
      chat_id: u.message!.chat.id,
      text: `⏳ ${BUSY_NOTE}`,
    });
    // A private chat is always the bot's, whether or not getMe has answered yet.
    expect(busyWebhookAnswer(u, undefined)?.chat_id).toBe(u.message!.chat.id);
  });

  it('replies to a group message meant for the bot, and only once the bot knows its name', () => {
    const u = update('group-mention');
    expect(busyWebhookAnswer(u, BOT)).toMatchObject({
      chat_id: u.message!.chat.id,
      reply_parameters: { message_id: u.message!.message_id, allow_sending_without_reply: true },
    });
    expect(busyWebhookAnswer(u, undefined)).toBeUndefined();
  });

  it('says nothing to people talking to each other, to other bots, or to button presses', () => {
    for (const name of ['group-chatter', 'group-command-other-bot', 'group-mention-other', 'callback-stop'])
      expect({ name, answer: busyWebhookAnswer(update(name), BOT) }).toEqual({ name, answer: undefined });
  });
});
