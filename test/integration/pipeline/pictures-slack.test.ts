import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAnthropic } from '../../fakes/anthropic/server.js';
import { userMessage } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import { claudeEnv, expectImageBlocks, PDF, PNG, pictureApp } from '../../helpers/pictures.js';
import { ALICE, type SlackHarness, shown, startSlackApp } from '../slack/harness.js';

let anthropic: FakeAnthropic;
let h: SlackHarness;
beforeAll(async () => {
  anthropic = await new FakeAnthropic().start();
  h = await startSlackApp(claudeEnv(anthropic));
});
afterAll(async () => {
  await h?.stop();
  await anthropic?.stop();
});

describe('Slack: a shared picture goes to Claude with the message', () => {
  it('downloads url_private_download with the bot token and sends the picture as a base64 image block', async () => {
    const { fake } = h;
    anthropic.reset();
    anthropic.script(pictureApp('Slack Picture'));
    const dm = 'D0ALICEPIC';
    const file = fake.shareFile(ALICE.teamId, { name: 'mockup.png', mimetype: 'image/png', bytes: PNG });
    const sent = userMessage(fake, { ...ALICE, channel: dm, text: 'make it look like this', files: [file] });
    expect((await fake.signer.event(sent.envelope)).status).toBe(200);
    await until('the app is live in the DM', async () =>
      fake.inChannel(dm).find((m) => /is ready/.test(shown(m))),
    );

    expectImageBlocks(anthropic, [{ type: 'image/png', data: PNG }]);
    expect(fake.fileDownloads).toEqual([expect.objectContaining({ id: file.id, authorized: true })]);
  });

  it('refuses a file too large or not a picture with a clear message, before any download or model call', async () => {
    const { fake } = h;
    anthropic.reset();
    const downloads = fake.fileDownloads.length;
    const dm = 'D0ALICEBAD';

    const big = fake.shareFile(ALICE.teamId, {
      name: 'huge.png',
      mimetype: 'image/png',
      bytes: PNG,
      declaredSize: 12 * 1024 * 1024,
    });
    await fake.signer.event(
      userMessage(fake, { ...ALICE, channel: dm, text: 'like this', files: [big] }).envelope,
    );
    await until('the size refusal', async () =>
      fake
        .inChannel(dm)
        .find((m) => shown(m).includes('"huge.png" is 12 MB; I can look at pictures of up to 3.75 MB each.')),
    );

    const pdf = fake.shareFile(ALICE.teamId, { name: 'brief.pdf', mimetype: 'application/pdf', bytes: PDF });
    await fake.signer.event(
      userMessage(fake, { ...ALICE, channel: dm, text: 'like this', files: [pdf] }).envelope,
    );
    await until('the type refusal', async () =>
      fake.inChannel(dm).find((m) => shown(m).includes('"brief.pdf" is of type application/pdf')),
    );
    expect(fake.fileDownloads.length).toBe(downloads);
    expect(anthropic.messageRequests()).toHaveLength(0);
  });
});
