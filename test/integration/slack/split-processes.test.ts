import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMention, FakeSlack } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { fetchPreview } from '../../helpers/preview.js';
import { ACME, ALICE, previewUrlIn, SIGNING_SECRET, waitForThreadMessage } from './harness.js';

/**
 * As deployed: web takes Slack's requests with the signing secret; the worker, on its own,
 * has only the bot token, and still posts and edits the cards.
 */
describe('slack: web and worker apart', () => {
  let fake: FakeSlack;
  let db: Awaited<ReturnType<typeof createThrowawayPostgres>>;
  let web: TestApp;
  let worker: TestApp;

  beforeAll(async () => {
    fake = await new FakeSlack({ signingSecret: SIGNING_SECRET, workspaces: [ACME] }).start();
    db = await createThrowawayPostgres({ migrated: true });
    const shared = { DATABASE_URL: db.url, QUEUE_PREFIX: uniquePrefix(), SLACK_API_URL: fake.apiUrl };
    web = await startTestApp(
      { ...shared, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: ACME.botToken },
      { worker: false },
    );
    worker = await startTestApp(
      { ...shared, SLACK_BOT_TOKEN: ACME.botToken, OFFLINE_BUILD_STEP_MS: '100' },
      { web: false, migrate: false },
    );
    fake.signer.targetUrl = `${web.url}/slack/events`;
  });
  afterAll(async () => {
    await worker?.stop();
    await web?.stop();
    await fake?.stop();
    await db?.drop();
  });

  it('a worker with only SLACK_BOT_TOKEN delivers the card and the result', async () => {
    expect(worker.app.adapters.map((a) => a.platform)).toContain('slack');
    const channel = 'C0SPLIT';
    const mention = appMention(fake, { ...ALICE, channel, text: 'a notes app for the book club' });
    expect((await fake.signer.event(mention.envelope)).status).toBe(200);
    const card = await until('card in the thread', async () => fake.inThread(channel, mention.ts)[0]);
    const result = await waitForThreadMessage(fake, channel, mention.ts, /is ready/);
    expect(card.edits.at(-1)!.text).toMatch(/100%/);
    expect((await fetchPreview(previewUrlIn(result)!)).status).toBe(200);
  });
});
