import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_EDIT_INTERVAL_MS, webChannel } from '../../../adapters/web/messenger.js';
import type { ProgressEvent } from '../../../src/notify/progress.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { WebChatClient, type WebMessage } from '../../helpers/web-client.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('status message delivery', () => {
  it('coalesces a burst of progress into paced edits of one message, then posts the result once', async () => {
    const client = new WebChatClient(t.url);
    const uid = await client.open();
    await t.app.queues.spawn.pause(); // the build stays queued: this test drives the progress itself
    const sent = await client.send('a notes app for my band');
    const { sessionId, buildId } = sent.spawn!;

    const sub = new Redis(TEST_REDIS_URL);
    const deliveries: { id: string; at: number; percent: number | undefined; stage: string | undefined }[] =
      [];
    sub.on('message', (_channel, raw: string) => {
      const { message } = JSON.parse(raw) as { message: WebMessage };
      if (message.role === 'bot') {
        deliveries.push({
          id: message.id,
          // The database's time of the edit: when it was made, not when a loaded machine let
          // this subscriber see it.
          at: Date.parse(message.updatedAt),
          percent: message.view.progress?.percent,
          stage: message.view.progress?.stage,
        });
      }
    });
    await sub.subscribe(webChannel(t.config.QUEUE_PREFIX, uid));
    await until('queued card', async () => (await client.cards(sessionId)).length === 1);
    const cardId = (await client.cards(sessionId))[0]!.id;

    const event = (percent: number, final = false): ProgressEvent => ({
      sessionId,
      buildId,
      iteration: 1,
      stage: final ? 'failed' : 'building',
      percent,
      detail: `step ${percent}`,
      final,
      ...(final ? { reason: 'scripted end' } : {}),
      at: Date.now(),
    });
    for (let p = 10; p < 60; p++) {
      await t.app.notifier.publish(event(p));
      await new Promise((r) => setTimeout(r, 5));
    }
    await t.app.notifier.publish(event(60, true));
    await t.app.notifier.publish(event(60, true)); // a final state reported twice is posted once
    await t.app.notifier.publish(event(61)); // a late non-final event cannot undo the final one

    await until('result posted', async () => deliveries.some((d) => d.id !== cardId));
    await new Promise((r) => setTimeout(r, 600));
    sub.disconnect();

    const edits = deliveries.filter((d) => d.id === cardId);
    // How many edits a burst becomes depends on when the notify job ran; that it is fewer
    // than the events, at the pace below, does not.
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.length).toBeLessThan(51);
    // Paced: n edits span at least n - 1 intervals, less one interval for the latency of the
    // first and last write (gaps telescope, so jitter in between cannot add up).
    if (edits.length > 1) {
      const span = edits.at(-1)!.at - edits[0]!.at;
      expect(span).toBeGreaterThanOrEqual((edits.length - 2) * WEB_EDIT_INTERVAL_MS);
    }
    expect(edits.at(-1)).toMatchObject({ stage: 'failed', percent: 60 });
    const posts = deliveries.filter((d) => d.id !== cardId);
    expect(posts).toHaveLength(1);
    const cards = await client.cards(sessionId);
    expect(cards).toHaveLength(2);
    expect(cards[1]!.view.text).toContain('scripted end');
    await t.app.queues.spawn.resume();
  });
});

describe('failures end with a message and a final state', () => {
  let slow: TestApp;
  beforeAll(async () => {
    // Every build takes longer than its stage timeout: retried, then failed for good.
    slow = await startTestApp({ OFFLINE_BUILD_STEP_MS: '800', BUILD_TIMEOUT_MS: '1000', JOB_ATTEMPTS: '2' });
  });
  afterAll(async () => {
    await slow?.stop();
  });

  it('a build that times out is retried, then the session fails with the reason shown', async () => {
    const client = new WebChatClient(slow.url);
    await client.open();
    const sent = await client.send('a todo list for the garden');
    const { sessionId, buildId } = sent.spawn!;
    const failed = await until(
      'failure message',
      async () => (await client.cards(sessionId)).find((c) => c.view.title.endsWith('build failed')),
      20_000,
    );
    expect(failed.view.text).toContain('Building the app took too long (limit 1 s)');
    const session = await slow.app.repos.sessions.get(sessionId);
    expect(session).toMatchObject({
      status: 'failed',
      statusReason: 'Building the app took too long (limit 1 s).',
    });
    const build = await slow.app.repos.builds.get(buildId);
    expect(build).toMatchObject({ status: 'failed', errorCode: 'ERR_BUILD_TIMEOUT', attempts: 2 });
    const card = (await client.cards(sessionId))[0]!;
    expect(card.view.progress?.stage).toBe('failed');
    expect(await slow.app.providers.get('local')!.status(sessionId)).toBe('missing');
  });
});
