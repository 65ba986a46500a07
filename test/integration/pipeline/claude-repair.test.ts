import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeAnthropic,
  type FakeBlock,
  finish,
  message,
  nodeApp,
  type RecordedRequest,
  writeFile,
} from '../../fakes/anthropic/server.js';
import { type TestApp, until } from '../../helpers/app.js';
import { startClaudeTestApp } from '../../helpers/claude-app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

let fake: FakeAnthropic;
let t: TestApp;
beforeAll(async () => {
  ({ fake, t } = await startClaudeTestApp({
    BUILD_MAX_REPAIRS: '2',
    // Long enough for a deploy under load; an app that answers 500 is given up on after it.
    DEPLOY_TIMEOUT_MS: '8000',
  }));
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

/** An app that throws while it starts, as generated code sometimes does. */
const CRASHING_SERVER = [
  "const http = require('node:http');",
  "const settings = require('./settings.json');",
  'http.createServer((req, res) => res.end(settings.title)).listen(Number(process.env.PORT) || 3000);',
  '',
].join('\n');

const [pkg, goodServer] = nodeApp('Tip Jar', '<h1>Tip Jar</h1>');
const crashingApp: FakeBlock[] = [
  writeFile(pkg!.path, pkg!.content, 2),
  writeFile('server.js', CRASHING_SERVER, 2),
];

type Block = { type: string; tool_use_id?: string; content?: string; is_error?: boolean };

/** The result of `finish` in the newest user message: what the repair turn told the model. */
function repairResult(req: RecordedRequest): Block | undefined {
  const last = (req.body!.messages as { role: string; content: Block[] }[]).at(-1)!;
  return last.content.find(
    (b) => b.type === 'tool_result' && b.is_error && b.content?.includes('did not come up'),
  );
}

async function statusDetail(client: WebChatClient, sessionId: string): Promise<string> {
  const [card] = await client.cards(sessionId);
  return card?.view.progress?.detail ?? '';
}

describe('self-repair: an app that does not start goes back to Claude with its log', () => {
  it('repairs an app that crashes at start: the card says so, the fixed app goes live', async () => {
    fake.reset();
    const client = new WebChatClient(t.url);
    await client.open();
    let sessionId = '';
    let told: Block | undefined;
    fake.script(message([...crashingApp, finish('Tip Jar', 'A tip jar.')]), async (req) => {
      told = repairResult(req);
      // The build waits here, so the card must show the repair before the fix arrives.
      await until('the card shows the repair', async () =>
        (await statusDetail(client, sessionId)).startsWith('fixing a start-up error (1/2)'),
      );
      return message([writeFile('server.js', goodServer!.content), finish('Tip Jar', 'A tip jar.')]);
    });
    const sent = await client.send('a tip jar for my band');
    sessionId = sent.spawn!.sessionId;

    const live = await until(
      'the app is live',
      async () =>
        (await client.cards(sessionId)).find(
          (c) => c.view.tone === 'success' && c.view.title.endsWith('is ready'),
        ),
      60_000,
    );
    expect(live.view.text).toContain('Your app is live');
    // The status card's final state says what happened on the way.
    const status = await until('the status card is final', async () => {
      const [card] = await client.cards(sessionId);
      return card?.view.text.startsWith('Live at') ? card : undefined;
    });
    expect(status.view.text).toContain('It did not start at first; Claude fixed it (1 repair).');
    const session = (await t.app.repos.sessions.get(sessionId))!;
    expect(session.status).toBe('live');
    expect(await (await fetchPreview(session.previewUrl!)).text()).toContain('<h1>Tip Jar</h1>');

    // The repair turn answered finish with the failed check and the app's own last lines.
    expect(told?.content).toContain('exited with code 1');
    expect(told?.content).toContain("Cannot find module './settings.json'");
    // One build row: the repair's tokens were added to the build's.
    const builds = await t.app.repos.builds.listForSession(sessionId);
    expect(builds).toHaveLength(1);
    expect(builds[0]).toMatchObject({ status: 'succeeded' });
    expect(builds[0]!.files.map((f) => f.path).sort()).toEqual(['package.json', 'server.js']);
    expect(fake.messageRequests()).toHaveLength(2);
    await client.act('stop', sessionId);
  });

  it('repairs an app that starts but answers 500: the preview check goes back, whatever the provider', async () => {
    fake.reset();
    const failing = [
      "const http = require('node:http');",
      'http.createServer((req, res) => { res.statusCode = 500; res.end("settings missing"); }).listen(Number(process.env.PORT) || 3000);',
      '',
    ].join('\n');
    let told: Block | undefined;
    fake.script(
      message([
        writeFile(pkg!.path, pkg!.content, 2),
        writeFile('server.js', failing, 2),
        finish('Tip Jar', 'A tip jar.'),
      ]),
      (req) => {
        told = repairResult(req);
        return message([writeFile('server.js', goodServer!.content), finish('Tip Jar', 'A tip jar.')]);
      },
    );
    const client = new WebChatClient(t.url);
    await client.open();
    const sessionId = (await client.send('a tip jar that answers 500')).spawn!.sessionId;
    await until(
      'the app is live',
      async () => (await t.app.repos.sessions.get(sessionId))?.status === 'live',
      60_000,
    );
    expect(told?.content).toContain('did not answer HTTP 200');
    expect(told?.content).toContain('HTTP 500');
    const session = (await t.app.repos.sessions.get(sessionId))!;
    expect(await (await fetchPreview(session.previewUrl!)).text()).toContain('<h1>Tip Jar</h1>');
    await client.act('stop', sessionId);
  });

  it('ends failed after the plan’s two repairs, with the reason on the card and nothing left running', async () => {
    fake.reset();
    const again = (req: RecordedRequest) => {
      if (!repairResult(req)) throw new Error('not a repair turn');
      return message([writeFile('server.js', CRASHING_SERVER), finish('Tip Jar', 'A tip jar.')]);
    };
    fake.script(message([...crashingApp, finish('Tip Jar', 'A tip jar.')]), again, again);
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a tip jar that never starts');
    const sessionId = sent.spawn!.sessionId;

    const failed = await until(
      'the build failed',
      async () =>
        (await client.cards(sessionId)).find(
          (c) => c.view.tone === 'error' && c.view.title.endsWith('build failed'),
        ),
      60_000,
    );
    expect(failed.view.text).toContain('The app was built but did not start');
    expect(failed.view.text).toContain('exited with code 1');
    expect(failed.view.text).toContain('2 attempts to fix it did not help');
    expect(fake.messageRequests()).toHaveLength(3);
    expect(fake.pending).toBe(0);

    const session = (await t.app.repos.sessions.get(sessionId))!;
    expect(session.status).toBe('failed');
    const [build] = await t.app.repos.builds.listForSession(sessionId);
    expect(build).toMatchObject({ status: 'failed', errorCode: 'ERR_DEPLOY_FAILED' });
    const local = t.app.providers.get('local')!;
    await until('the app is gone', async () => (await local.status(sessionId)) === 'missing');
    expect((await local.list()).filter((s) => s.sessionId === sessionId)).toEqual([]);
  });
});
