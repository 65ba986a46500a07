import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAnthropic } from '../../fakes/anthropic/server.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { startClaudeTestApp } from '../../helpers/claude-app.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { expectImageBlocks, HUGE_PNG, JPEG, PDF, PNG, pictureApp } from '../../helpers/pictures.js';
import { WebChatClient } from '../../helpers/web-client.js';

let fake: FakeAnthropic;
let t: TestApp;
beforeAll(async () => {
  ({ fake, t } = await startClaudeTestApp());
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

describe('web chat: pictures go to Claude with the request', () => {
  it('carries the uploaded pictures as base64 image blocks, then forgets them', async () => {
    fake.reset();
    fake.script(pictureApp('Picture Page'));
    const client = new WebChatClient(t.url);
    const uid = await client.open();
    const sent = await client.send('make it look like this', undefined, [
      { name: 'mock.png', type: 'image/png', data: PNG },
      { name: 'photo.jpg', type: 'image/jpeg', data: JPEG },
    ]);
    expect(sent.status).toBe(202);
    const sessionId = sent.spawn!.sessionId;
    await until('the app is live', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('is ready')),
    );
    expectImageBlocks(fake, [
      { type: 'image/png', data: PNG },
      { type: 'image/jpeg', data: JPEG },
    ]);
    // Nothing of the pictures outlives the build.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.keys(`${t.config.QUEUE_PREFIX}:web-upload:${uid}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses a picture too large, of the wrong type (declared or real) or one too many, with a clear message and no model call', async () => {
    fake.reset();
    const client = new WebChatClient(t.url);
    await client.open();

    const huge = await client.send('like this', undefined, [
      { name: 'big.png', type: 'image/png', data: HUGE_PNG },
    ]);
    expect(huge.status).toBe(413);
    expect(huge.error?.message).toBe(
      '"big.png" is 4 MB; I can look at pictures of up to 3.75 MB each. A smaller screenshot or a JPEG will do.',
    );

    const pdf = await client.send('like this', undefined, [
      { name: 'brief.pdf', type: 'application/pdf', data: PDF },
    ]);
    expect(pdf.status).toBe(415);
    expect(pdf.error?.message).toContain('I can only look at JPEG, PNG, GIF or WebP pictures');
    expect(pdf.error?.message).toContain('"brief.pdf" is of type application/pdf');

    // Named and typed as a PNG, but the bytes are a PDF: the magic number decides.
    const disguised = await client.send('like this', undefined, [
      { name: 'mock.png', type: 'image/png', data: PDF },
    ]);
    expect(disguised.status).toBe(415);
    expect(disguised.error?.message).toContain('"mock.png" is not a JPEG, PNG, GIF or WebP file inside');

    const five = await client.send(
      'like these',
      undefined,
      Array.from({ length: 5 }, (_, i) => ({ name: `p${i}.png`, type: 'image/png', data: PNG })),
    );
    expect(five.status).toBe(400);
    expect(five.error?.message).toBe('You sent 5 files; I can look at up to 4 pictures with one request.');

    expect(fake.messageRequests()).toHaveLength(0);
  });
});

describe('web chat: the offline builder and pictures', () => {
  let offline: TestApp;
  beforeAll(async () => {
    offline = await startTestApp();
  });
  afterAll(async () => {
    await offline?.stop();
  });

  it('says politely that it cannot look at pictures, and builds nothing', async () => {
    const client = new WebChatClient(offline.url);
    await client.open();
    const sent = await client.send('make it look like this', undefined, [
      { name: 'mock.png', type: 'image/png', data: PNG },
    ]);
    expect(sent.status).toBe(200);
    expect(sent.spawn).toBeUndefined();
    expect(sent.replies.map((r) => r.view.text)).toContainEqual(
      'Sorry, the offline builder cannot look at pictures. Tell me in words what the app should look like and I will build it from that.',
    );
  });
});
