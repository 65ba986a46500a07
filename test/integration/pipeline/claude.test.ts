import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMPT_VERSION } from '../../../src/builder/claude/index.js';
import type { ReplyView } from '../../../src/core/view.js';
import {
  type FakeAnthropic,
  type FakeBlock,
  finish,
  message,
  nodeApp,
  redactedThinking,
  thinking,
  writeFile,
} from '../../fakes/anthropic/server.js';
import { type TestApp, until } from '../../helpers/app.js';
import { startClaudeTestApp } from '../../helpers/claude-app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient, type WebMessage } from '../../helpers/web-client.js';

let fake: FakeAnthropic;
let t: TestApp;
beforeAll(async () => {
  ({ fake, t } = await startClaudeTestApp({
    // ANTHROPIC_MODEL unset: the default model, with the fake enforcing its rules.
    JOB_ATTEMPTS: '2',
  }));
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
  it('builds in three turns with thinking blocks, shows each file on the card, and the cost at the published prices; a change reads the cache', async () => {
    fake.reset();
    const notes = { path: 'public/notes.txt', content: 'Open 6am to 10pm.\n' };
    // Usage as the API would report it, so the cost is known to the micro-dollar.
    const usage = [
      { inputTokens: 1200, cacheWriteTokens: 6000, cacheReadTokens: 0, outputTokens: 3000 },
      { inputTokens: 300, cacheWriteTokens: 800, cacheReadTokens: 6000, outputTokens: 2500 },
      { inputTokens: 250, cacheWriteTokens: 0, cacheReadTokens: 150_000, outputTokens: 400 },
    ];
    const scripted = (i: number) => ({
      // Each file is paced, so every "wrote" edit reaches the card before the next.
      blockDelayMs: 500,
      outputTokens: usage[i]!.outputTokens,
      inputUsage: usage[i]!,
    });
    fake.script(
      message(
        [
          thinking('A page with opening hours: package.json, server.js.'),
          ...files('Gym Hours', '<h1>Gym Hours</h1>', 3),
        ],
        scripted(0),
      ),
      // Text between tool calls comes back inside thinking blocks; some thinking is redacted.
      message(
        [thinking('Now the notes file.'), redactedThinking(), writeFile(notes.path, notes.content, 3)],
        scripted(1),
      ),
      message(
        [thinking('Everything is written.'), finish('Gym Hours', 'A page with the gym’s opening hours.')],
        scripted(2),
      ),
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
    expect(await (await fetchPreview(url)).text()).toContain('<h1>Gym Hours</h1>');

    // Three requests, each in the shape the default model accepts, each carrying every
    // thinking block of the turns before it back unmodified (the fake refuses anything else).
    const requests = fake.messageRequests();
    expect(requests).toHaveLength(3);
    for (const r of requests) {
      expect(r.body).toMatchObject({
        model: 'claude-sonnet-5-5',
        tool_choice: { type: 'auto' },
        thinking: { type: 'adaptive' },
      });
      expect(r.body).not.toHaveProperty('temperature');
    }
    const third = requests[2]!.body!.messages as { role: string; content: { type: string }[] }[];
    expect(third[3]!.content.map((b) => b.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);

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

    // The cost at Claude Sonnet 5.5's published prices: $2 input, $10 output, $2.50 cache
    // writes, $0.10 cache reads per million tokens (a price per million tokens is micro-USD
    // per token).
    const sum = (k: keyof (typeof usage)[number]) => usage.reduce((n, u) => n + u[k], 0);
    const expected =
      sum('inputTokens') * 2 +
      sum('outputTokens') * 10 +
      sum('cacheWriteTokens') * 2.5 +
      sum('cacheReadTokens') * 0.1;
    expect(expected).toBe(95_100);
    const [build] = await t.app.repos.builds.listForSession(sessionId);
    expect(build).toMatchObject({
      status: 'succeeded',
      builder: 'claude',
      model: 'claude-sonnet-5-5',
      promptVersion: PROMPT_VERSION,
      inputTokens: sum('inputTokens'),
      outputTokens: sum('outputTokens'),
      cacheWriteTokens: sum('cacheWriteTokens'),
      cacheReadTokens: sum('cacheReadTokens'),
      costMicroUsd: expected,
    });
    expect(live.view.fields).toContainEqual({ label: 'Cost so far', value: '$0.10' });

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
    expect(await (await fetchPreview(url)).text()).toContain('Now open on Sundays');

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
});
