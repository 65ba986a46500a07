import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FakeAnthropic,
  finish,
  message,
  nodeApp,
  type RecordedRequest,
  writeFile,
} from '../../fakes/anthropic/server.js';
import { type CloudFakes, startCloudFakes } from '../../fakes/railway/cloud-env.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * Self-repair on a cloud provider: the fake Railway runs each deployment with the real runtime
 * bootstrap, so an app that throws at start fails its deployment there, and the provider's log
 * goes back to Claude exactly as the local provider's does.
 */
let fakes: CloudFakes;
let fake: FakeAnthropic;
let t: TestApp;
beforeAll(async () => {
  fakes = await startCloudFakes();
  fake = await new FakeAnthropic().start();
  t = await startTestApp(
    fakes.env({
      PROVIDER: 'railway',
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: fake.url,
    }),
  );
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
  await fakes?.stop();
});

describe('self-repair on Railway', () => {
  it('a deployment that fails because the app throws goes back to Claude with Railway’s log, and the fix goes live', async () => {
    const [pkg, good] = nodeApp('Band Page', '<h1>Band Page</h1>');
    const crashing = "require('./missing-config.js');\n";
    let told = '';
    fake.script(
      message([
        writeFile(pkg!.path, pkg!.content),
        writeFile('server.js', crashing),
        finish('Band Page', 'x'),
      ]),
      (req: RecordedRequest) => {
        const last = (req.body!.messages as { content: { type: string; content?: string }[] }[]).at(-1)!;
        told =
          last.content.find((b) => b.type === 'tool_result' && b.content?.includes('did not come up'))
            ?.content ?? '';
        return message([writeFile('server.js', good!.content), finish('Band Page', 'A page for the band.')]);
      },
    );
    const client = new WebChatClient(t.url);
    await client.open();
    const { sessionId } = (await client.send('a page for my band')).spawn!;
    const session = await until(
      'live on Railway',
      async () => {
        const s = await t.app.repos.sessions.get(sessionId);
        if (s?.status === 'failed') throw new Error(`session failed: ${JSON.stringify(s)}`);
        return s?.status === 'live' ? s : undefined;
      },
      90_000,
    );
    expect(session.provider).toBe('railway');
    expect(told).toContain('Railway reported the deployment');
    // The app's own lines from Railway's log, Node's internal stack frames left out.
    expect(told).toContain('MODULE_NOT_FOUND');
    expect(told).toContain('server.js:1:1');
    expect(told).not.toContain('node:internal');
    expect(await (await fetchPreview(session.previewUrl!)).text()).toContain('<h1>Band Page</h1>');
    await client.act('stop', sessionId);
  });

  it('a deployment Railway fails before the app runs (image pull) is not sent to Claude, and the card says the cloud failed', async () => {
    const [pkg, good] = nodeApp('Cafe Menu', '<h1>Cafe Menu</h1>');
    fake.script(
      message([
        writeFile(pkg!.path, pkg!.content),
        writeFile('server.js', good!.content),
        finish('Cafe Menu', 'A menu.'),
      ]),
    );
    const before = fake.requests.length;
    fakes.railway.failNextDeployment('FAILED', [
      'Failed to pull image "ghcr.io/spawnai/runtime:1": unauthorized: authentication required',
    ]);
    const client = new WebChatClient(t.url);
    await client.open();
    const { sessionId } = (await client.send('a menu for our cafe')).spawn!;
    const card = await until(
      'failure told',
      async () => (await client.cards(sessionId)).find((c) => c.view.title.endsWith('build failed')),
      90_000,
    );
    expect(card.view.text).toContain('Railway reported the deployment FAILED before the app ran');
    expect(card.view.text).toContain('the cloud failed, not the app');
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('failed');
    // One request: the build. No repair turn was spent on a failure the app cannot fix.
    expect(fake.requests.length - before).toBe(1);
  });
});
