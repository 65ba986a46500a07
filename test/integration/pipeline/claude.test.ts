import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMPT_VERSION } from '../../../src/build/claude/index.js';
import type { ReplyView } from '../../../src/core/view.js';
import {
  FakeAnthropic,
  type FakeBlock,
  finish,
  message,
  nodeApp,
  writeFile,
} from '../../fakes/anthropic/server.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { WebChatClient, type WebMessage } from '../../helpers/web-client.js';

let fake: FakeAnthropic;
let t: TestApp;
beforeAll(async () => {
  fake = await new FakeAnthropic().start();
  t = await startTestApp({
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: fake.url,
    ANTHROPIC_MODEL: 'claude-sonnet-5-5',
    JOB_ATTEMPTS: '2',
  });
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

/** What the browser receives on the web chat's event stream: every version of every bot message. */
async function watchCards(client: WebChatClient) {
  const seen: { id: string; view: ReplyView }[] = [];
  const controller = new AbortController();
  const res = await client.raw('/api/web/events', { signal: controller.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          if (frame.includes('event: ready')) ready();
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!frame.includes('event: message') || !data) continue;
          const { message } = JSON.parse(data.slice(6)) as { message: WebMessage };
          if (message.role === 'bot') seen.push({ id: message.id, view: message.view });
        }
      }
    } catch {
      // aborted
    }
  })();
  await isReady;
  return { seen, stop: () => controller.abort() };
}

async function resultCard(
  client: WebChatClient,
  sessionId: string,
  tone: 'success' | 'error',
  iteration = 1,
) {
  return until(`session ${sessionId} change ${iteration} ${tone}`, async () =>
    (await client.cards(sessionId)).find(
      // The result message (not the status card, which ends in the same tone).
      (c) =>
        c.view.tone === tone &&
        c.view.title.endsWith(tone === 'success' ? 'is ready' : 'build failed') &&
        (tone === 'error' ||
          (iteration === 1
            ? !c.view.text.includes('Change #')
            : c.view.text.includes(`Change #${iteration}`))),
    ),
  );
}

const files = (title: string, body: string, planned?: number): FakeBlock[] =>
  nodeApp(title, body).map((f) => writeFile(f.path, f.content, planned));

describe('web chat with Claude: from a message to a running app', () => {
  it('builds what Claude writes, shows each file on the card, records usage and cost; a change reads the cache', async () => {
    fake.reset();
    const notes = { path: 'public/notes.txt', content: 'Open 6am to 10pm.\n' };
    fake.script(
      // Each file is paced, so every "wrote" edit reaches the card before the next.
      message([...files('Gym Hours', '<h1>Gym Hours</h1>', 3), writeFile(notes.path, notes.content, 3)], {
        blockDelayMs: 500,
      }),
      message([finish('Gym Hours', 'A page with the gym’s opening hours.')], { blockDelayMs: 500 }),
    );
    const client = new WebChatClient(t.url);
    await client.open();
    const events = await watchCards(client);
    const sent = await client.send('a page with the opening hours of my climbing gym');
    expect(sent.status).toBe(202);
    const sessionId = sent.spawn!.sessionId;

    const live = await resultCard(client, sessionId, 'success');
    expect(live.view.footer).toContain('Claude (claude-sonnet-5-5)');
    expect(live.view.title).toBe('Gym Hours is ready');
    expect(live.view.text).toContain('A page with the gym’s opening hours.');
    const url = (await t.app.repos.sessions.get(sessionId))!.previewUrl!;
    expect(await (await fetch(url)).text()).toContain('<h1>Gym Hours</h1>');

    // Progress per file reached the status card, in order.
    const card = (await client.cards(sessionId))[0]!;
    const details = events.seen.filter((e) => e.id === card.id).map((e) => e.view.progress?.detail);
    events.stop();
    expect(details).toEqual(
      expect.arrayContaining([
        'wrote package.json (1/3)',
        'wrote server.js (2/3)',
        'wrote public/notes.txt (3/3)',
      ]),
    );
    expect(details.indexOf('wrote package.json (1/3)')).toBeLessThan(
      details.indexOf('wrote public/notes.txt (3/3)'),
    );

    // Usage and cost are on the build row; the card shows the session's cost.
    const [build] = await t.app.repos.builds.listForSession(sessionId);
    expect(build).toMatchObject({
      status: 'succeeded',
      builder: 'claude',
      model: 'claude-sonnet-5-5',
      promptVersion: PROMPT_VERSION,
    });
    expect(build!.outputTokens).toBeGreaterThan(0);
    expect(build!.inputTokens + build!.cacheReadTokens + build!.cacheWriteTokens).toBeGreaterThan(1000);
    const expected = Math.round(
      build!.inputTokens * 3 +
        build!.outputTokens * 15 +
        build!.cacheWriteTokens * 3.75 +
        build!.cacheReadTokens * 0.3,
    );
    expect(build!.costMicroUsd).toBe(expected);
    expect(live.view.fields).toContainEqual({
      label: 'Cost so far',
      value: `$${(expected / 1e6).toFixed(expected < 10_000 ? 4 : 2)}`,
    });

    // A follow-up: the previous files go with cache_control, and the build reads the cache.
    fake.reset();
    fake.script(
      message([
        writeFile(
          'server.js',
          nodeApp('Gym Hours', '<h1>Gym Hours</h1><p>Now open on Sundays</p>')[1]!.content,
          1,
        ),
      ]),
      message([finish('Gym Hours', 'Added Sunday opening.')]),
    );
    const change = await client.send('say that we are now open on Sundays');
    expect(change.spawn).toMatchObject({ sessionId, iteration: 2 });
    await resultCard(client, sessionId, 'success', 2);
    expect(await (await fetch(url)).text()).toContain('Now open on Sundays');

    const first = fake.messageRequests()[0]!.body!;
    const [prefix, ask] = (first.messages as { content: { text: string; cache_control?: unknown }[] }[])[0]!
      .content;
    expect(prefix!.cache_control).toEqual({ type: 'ephemeral' });
    expect(prefix!.text).toContain(notes.content);
    expect(prefix!.text).toContain('<h1>Gym Hours</h1>');
    expect(ask!.text).toContain('open on Sundays');
    const second = (await t.app.repos.builds.listForSession(sessionId)).find((b) => b.iteration === 2)!;
    expect(second.status).toBe('succeeded');
    expect(second.cacheReadTokens).toBeGreaterThan(0);
    expect(second.files.map((f) => f.path).sort()).toEqual(['package.json', 'public/notes.txt', 'server.js']);
    await client.act('stop', sessionId);
  });

  it('never marks a half-written app live when the stream keeps breaking off', async () => {
    fake.reset();
    for (let attempt = 0; attempt < 2; attempt++) {
      fake.script(
        message(files('Broken', '<h1>Broken</h1>', 2)),
        // The finish call never arrives whole: three cuts per job attempt (one try, two restarts).
        message([finish('Broken', 'x')], { break: { kind: 'cut', afterEvents: 3 } }),
        message([finish('Broken', 'x')], { break: { kind: 'error', afterEvents: 3 } }),
        message([finish('Broken', 'x')], { break: { kind: 'end', afterEvents: 3 } }),
      );
    }
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a broken thing');
    const sessionId = sent.spawn!.sessionId;
    const failed = await resultCard(client, sessionId, 'error');
    expect(failed.view.text).toContain('The AI service kept breaking off its answer');
    const session = await t.app.repos.sessions.get(sessionId);
    expect(session).toMatchObject({ status: 'failed', previewUrl: null });
    const [build] = await t.app.repos.builds.listForSession(sessionId);
    expect(build).toMatchObject({
      status: 'failed',
      errorCode: 'ERR_LLM_UNAVAILABLE',
      attempts: 2,
      bundleKey: null,
    });
    expect(fake.pending).toBe(0); // the worker tried the whole build twice
  });

  it('ends at once with a clear message when the key is rejected, without retrying', async () => {
    fake.reset();
    fake.setApiKey('a-newer-key');
    try {
      const client = new WebChatClient(t.url);
      await client.open();
      const sent = await client.send('a guestbook');
      const sessionId = sent.spawn!.sessionId;
      const failed = await resultCard(client, sessionId, 'error');
      expect(failed.view.text).toContain('The AI service rejected this server’s API key (ANTHROPIC_API_KEY)');
      expect(JSON.stringify(await client.history())).not.toContain('test-key');
      const [build] = await t.app.repos.builds.listForSession(sessionId);
      expect(build).toMatchObject({ status: 'failed', errorCode: 'ERR_LLM_AUTH', attempts: 1 });
      expect(fake.requests).toHaveLength(1);
      expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('failed');
    } finally {
      fake.setApiKey('test-key');
    }
  });
});
