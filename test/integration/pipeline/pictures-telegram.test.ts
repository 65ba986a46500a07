import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAnthropic } from '../../fakes/anthropic/server.js';
import { claudeEnv, expectImageBlocks, HUGE_PNG, JPEG, PDF, pictureApp } from '../../helpers/pictures.js';
import { botMessage, isResult, startTelegram, type TelegramHarness } from '../telegram/harness.js';

let anthropic: FakeAnthropic;
let h: TelegramHarness;
beforeAll(async () => {
  anthropic = await new FakeAnthropic().start();
  h = await startTelegram('webhook', claudeEnv(anthropic));
});
afterAll(async () => {
  await h?.stop();
  await anthropic?.stop();
});

describe('Telegram: a photo goes to Claude with its caption', () => {
  it('fetches the largest size with getFile and the bot token, and sends it as a base64 image block', async () => {
    anthropic.reset();
    anthropic.script(pictureApp('Photo Page'));
    const alice = h.fake.user('Alice');
    const chat = h.fake.privateChat(alice);
    await h.fake.sendPhoto(chat, alice, JPEG, 'make it look like this');
    await botMessage(h.fake, chat, (m) => isResult(m, 'Photo Page'), 'the app is live', 60_000);

    expectImageBlocks(anthropic, [{ type: 'image/jpeg', data: JPEG }]);
    const text = (
      anthropic.messageRequests()[0]!.body!.messages as { content: { text?: string }[] }[]
    )[0]!.content.at(-1)!.text;
    expect(text).toContain('make it look like this');
    // getFile for the largest size only, then one download with the token in the path.
    const asked = h.fake.calls('getFile').map((c) => c.body.file_id);
    expect(asked).toHaveLength(1);
    expect(h.fake.state.files.get(String(asked[0]))?.bytes.equals(JPEG)).toBe(true);
    expect(h.fake.state.downloads).toEqual([expect.objectContaining({ authorized: true })]);
  });

  it('refuses a file too large or not a picture with a clear message, before any download or model call', async () => {
    anthropic.reset();
    const bob = h.fake.user('Bob');
    const chat = h.fake.privateChat(bob);
    const downloads = h.fake.state.downloads.length;

    await h.fake.sendDocument(chat, bob, HUGE_PNG, { name: 'big.png', mimeType: 'image/png' }, 'like this');
    await botMessage(
      h.fake,
      chat,
      (m) => (m.text ?? '').includes('"big.png" is 4 MB; I can look at pictures of up to 3.75 MB each.'),
      'the size refusal',
    );

    await h.fake.sendDocument(
      chat,
      bob,
      PDF,
      { name: 'brief.pdf', mimeType: 'application/pdf' },
      'like this',
    );
    await botMessage(
      h.fake,
      chat,
      (m) =>
        (m.text ?? '').includes(
          'I can only look at JPEG, PNG, GIF or WebP pictures, and "brief.pdf" is of type application/pdf.',
        ),
      'the type refusal',
    );
    expect(h.fake.state.downloads.length).toBe(downloads);
    expect(anthropic.messageRequests()).toHaveLength(0);
  });

  it('checks the downloaded bytes again: a PDF sent as image/png fails the build with a clear message, no model call', async () => {
    anthropic.reset();
    const carol = h.fake.user('Carol');
    const chat = h.fake.privateChat(carol);
    await h.fake.sendDocument(chat, carol, PDF, { name: 'mock.png', mimeType: 'image/png' }, 'like this');
    await botMessage(
      h.fake,
      chat,
      (m) => (m.text ?? '').includes('"mock.png" is not a JPEG, PNG, GIF or WebP file inside'),
      'the refusal after download',
      60_000,
    );
    expect(h.fake.state.downloads.at(-1)).toMatchObject({ authorized: true });
    expect(anthropic.messageRequests()).toHaveLength(0);
  });
});
