import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttonsOf, pressButton, slashCommand, userMessage } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { downloadExport, expectExportOfLiveApp } from '../../helpers/versions.js';
import { ALICE, previewUrlIn, type SlackHarness, startSlackApp, waitForThreadMessage } from './harness.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp({ OFFLINE_BUILD_STEP_MS: '50' });
});
afterAll(async () => {
  await h?.stop();
});

const exportLink = (text: string) => /(http:\/\/localhost:\d+\/export\/[\w.-]+)/.exec(text)?.[1];

describe('slack: versions, rollback, Undo and export', () => {
  it('/spawn versions, /spawn rollback 1, a change on version 1, the Undo button and an export equal to the running app', async () => {
    const { fake, t } = h;
    const channel = 'C0VERSIONS';
    const spawn = (text: string) => fake.signer.command(slashCommand(fake, { ...ALICE, channel, text }));
    const answered = (re: RegExp, what: string) =>
      until(what, async () => fake.responsesTo(ALICE.user).find((r) => re.test(JSON.stringify(r.body))));

    await spawn('a todo list for my climbing gym');
    const card = await until('status card', async () => fake.topLevel(channel)[0]);
    const first = await waitForThreadMessage(fake, channel, card.ts, /is ready/);
    const url = previewUrlIn(first)!;
    const sessionId = String(buttonsOf(card.blocks).find((b) => b.value)?.value);
    const v1Html = await (await fetchPreview(url)).text();
    expect(buttonsOf(first.blocks).some((b) => b.action_id === 'spawnai:undo')).toBe(false);

    await spawn('rollback 7');
    await answered(/no version 7/, 'no version 7');

    // A reply in the app's thread is a change.
    const reply = (text: string) =>
      fake.signer.event(userMessage(fake, { ...ALICE, channel, threadTs: card.ts, text }).envelope);
    await reply('make it dark mode and call it Crux Crew Tasks');
    const second = await waitForThreadMessage(fake, channel, card.ts, /Change #2 is live/);
    expect(buttonsOf(second.blocks).find((b) => b.action_id === 'spawnai:undo')?.value).toBe(
      `${sessionId}.1`,
    );

    await spawn('versions');
    const list = await answered(/1\. \d\d:\d\d UTC[\s\S]*2\. \d\d:\d\d UTC.*\(running\)/, 'the versions');
    expect(JSON.stringify(list.body)).toContain('rollback');

    await spawn('rollback 1');
    await waitForThreadMessage(fake, channel, card.ts, /Rolled back to version 1/);
    expect(await (await fetchPreview(url)).text()).toBe(v1Html);

    await reply('call it Boulder Board');
    await waitForThreadMessage(fake, channel, card.ts, /Change #4 is live/);
    const v4Html = await (await fetchPreview(url)).text();
    expect(v4Html).toContain('Boulder Board');
    expect(v4Html).not.toContain('Crux Crew Tasks');

    // Undo on version 2's card: version 1 again, as version 5.
    expect((await fake.signer.interaction(pressButton(fake, ALICE, second, 'Undo'))).status).toBe(200);
    await until('version 5', async () =>
      (await t.app.repos.builds.versionsForSession(sessionId)).find(
        (b) => b.version === 5 && b.rollbackOf === 1,
      ),
    );
    expect(await (await fetchPreview(url)).text()).toBe(v1Html);

    // Export from the card's button: a signed link to a zip of the running app.
    await fake.signer.interaction(pressButton(fake, ALICE, second, 'Export'));
    const offer = await answered(/\/export\//, 'the export link');
    const { filename, files } = await downloadExport(exportLink(JSON.stringify(offer.body))!);
    expect(filename).toMatch(/-v5\.zip$/);
    expectExportOfLiveApp(files, t.config.DATA_DIR, sessionId);
  });
});
