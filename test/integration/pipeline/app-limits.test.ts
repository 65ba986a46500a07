import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAnthropic, finish, message, nodeApp, writeFile } from '../../fakes/anthropic/server.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { startClaudeTestApp } from '../../helpers/claude-app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/** What Claude could write: an app that behaves until asked, then holds memory in Buffers without end. */
const GREEDY_SERVER = `const http = require('node:http');
const PORT = Number(process.env.PORT) || 3000;
const kept = [];
http
  .createServer((req, res) => {
    if (req.url === '/grow') setInterval(() => kept.push(Buffer.alloc(4 * 1024 * 1024, 1)), 10);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Photo Wall</title><h1>Photo Wall</h1>');
  })
  .listen(PORT);
`;

let fake: FakeAnthropic;
let t: TestApp;
beforeAll(async () => {
  ({ fake, t } = await startClaudeTestApp({
    LOCAL_APP_MEMORY_MB: '96',
    // The sweep that ends the app comes from the app's own stop, not from the schedule.
    REAPER_INTERVAL_MS: '3600000',
  }));
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

async function liveApp(client: WebChatClient, prompt: string): Promise<{ sessionId: string; url: string }> {
  const sessionId = (await client.send(prompt)).spawn!.sessionId;
  await until(
    `${sessionId} live`,
    async () => (await client.cards(sessionId)).find((c) => c.view.title.endsWith('is ready')),
    30_000,
  );
  return { sessionId, url: (await t.app.repos.sessions.get(sessionId))!.previewUrl! };
}

describe('a local app past its memory limit', () => {
  it('is ended, its card says why, and the other apps keep running', async () => {
    fake.reset();
    fake.script(
      message([
        writeFile('package.json', nodeApp('Photo Wall')[0]!.content),
        writeFile('server.js', GREEDY_SERVER),
      ]),
      message([finish('Photo Wall', 'A wall of photos.')]),
      message(nodeApp('Book Club').map((f) => writeFile(f.path, f.content))),
      message([finish('Book Club', 'The reading list of our book club.')]),
    );
    const alice = new WebChatClient(t.url);
    await alice.open();
    const greedy = await liveApp(alice, 'a photo wall for the office');
    const bob = new WebChatClient(t.url);
    await bob.open();
    const calm = await liveApp(bob, 'a page for our book club');

    await fetchPreview(`${greedy.url}/grow`);

    const card = await until(
      'the status card says why it ended',
      async () => {
        const [status] = await alice.cards(greedy.sessionId);
        return status?.view.progress?.stage === 'failed' ? status : undefined;
      },
      30_000,
    );
    expect(card.view.text).toBe('Failed: The app was stopped: it used more than 96 MB of memory.');
    expect(card.view.buttons ?? []).toEqual([]);
    expect((await t.app.repos.sessions.get(greedy.sessionId))?.status).toBe('failed');
    await until('its address is gone', async () => (await fetchPreview(greedy.url)).status === 404);

    const other = await fetchPreview(calm.url);
    expect(other.status).toBe(200);
    expect(await other.text()).toContain('Book Club');
    expect((await t.app.repos.sessions.get(calm.sessionId))?.status).toBe('live');
  }, 90_000);
});

describe('a server without a sandbox', () => {
  let claude: FakeAnthropic;
  let s: TestApp;
  beforeAll(async () => {
    claude = await new FakeAnthropic().start();
    s = await startTestApp({
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: claude.url,
      LOCAL_SANDBOX_BWRAP: '/nonexistent/bwrap',
    });
  });
  afterAll(async () => {
    await s?.stop();
    await claude?.stop();
  });

  it('does not run an app Claude would write, tells the person where it can run, and builds nothing', async () => {
    claude.reset();
    claude.script(message(nodeApp('Never Built').map((f) => writeFile(f.path, f.content))));
    const client = new WebChatClient(s.url);
    await client.open();
    const sessionId = (await client.send('a page for our running club')).spawn!.sessionId;
    const card = await until('the refusal', async () => {
      const [status] = await client.cards(sessionId);
      return status?.view.progress?.stage === 'failed' ? status : undefined;
    });
    expect(card.view.text).toBe(
      'Failed: This server runs apps written by Claude only in a sandbox, and it has none, so it will not run yours here. ' +
        'The operator can install bubblewrap, or connect Railway or Render, for apps like this one.',
    );
    expect((await s.app.repos.sessions.get(sessionId))?.status).toBe('failed');
    // Refused before the build: not one request to Claude, nothing to pay for.
    expect(claude.requests).toHaveLength(0);
  });
});
