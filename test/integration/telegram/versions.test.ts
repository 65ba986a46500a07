import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { downloadExport, expectExportOfLiveApp, liveAppFiles } from '../../helpers/versions.js';
import { appIdOf, botMessage, isResult, previewUrl, startTelegram, type TelegramHarness } from './harness.js';

let h: TelegramHarness;
beforeAll(async () => {
  h = await startTelegram('polling', { OFFLINE_BUILD_STEP_MS: '50' });
});
afterAll(async () => {
  await h?.stop();
});

const exportLink = (text: string | undefined) =>
  /(http:\/\/localhost:\d+\/export\/[\w.-]+)/.exec(text ?? '')?.[1];

describe('Telegram: versions, rollback, Undo and export', () => {
  it('/versions, /rollback 1, a change on version 1, the Undo button and an export equal to the running app', async () => {
    const { fake, t } = h;
    const gil = fake.user('Gil');
    const chat = fake.privateChat(gil);
    await fake.sendText(chat, gil, '/spawn a todo list for my climbing gym');
    const first = await botMessage(fake, chat, (m) => isResult(m), 'version 1');
    const url = previewUrl(first);
    const sessionId = appIdOf(first);
    const v1Html = await (await fetchPreview(url)).text();
    expect(() => fake.button(first, /Undo/)).toThrow();

    await fake.sendText(chat, gil, 'make it dark mode and call it Crux Crew Tasks');
    const second = await botMessage(fake, chat, (m) => /Change #2 is live/.test(m.text ?? ''), 'version 2');
    expect(fake.button(second, /Undo/)).toBe(`undo:${sessionId}.1`);

    await fake.sendText(chat, gil, '/versions');
    const list = await botMessage(fake, chat, (m) => /: versions/.test(m.text ?? ''), 'the versions');
    expect(list.text).toMatch(/1\. \d\d:\d\d UTC: [\s\S]*2\. \d\d:\d\d UTC: .*\(running\)/);

    await fake.sendText(chat, gil, '/rollback 1');
    await botMessage(
      fake,
      chat,
      (m) => isResult(m) && /Rolled back to version 1/.test(m.text ?? ''),
      'rollback',
    );
    expect(await (await fetchPreview(url)).text()).toBe(v1Html);

    await fake.sendText(chat, gil, 'call it Boulder Board');
    await botMessage(fake, chat, (m) => /Change #4 is live/.test(m.text ?? ''), 'version 4');
    const v4Html = await (await fetchPreview(url)).text();
    expect(v4Html).toContain('Boulder Board');
    expect(v4Html).not.toContain('Crux Crew Tasks');
    // Built on version 1: the change kept version 1's light theme, not version 2's dark one.
    const manifest = JSON.parse(liveAppFiles(t.config.DATA_DIR, sessionId).get('spawnai.json') ?? '{}');
    expect(manifest.options?.theme).toBe('light');

    // The Undo button of version 2's card: version 1 again, as version 5.
    const { queryId } = await fake.press(chat, second.messageId, gil, fake.button(second, /Undo/));
    await fake.callbackAnswer(queryId);
    await until('version 5', async () =>
      (await t.app.repos.builds.versionsForSession(sessionId)).find(
        (b) => b.version === 5 && b.rollbackOf === 1,
      ),
    );
    expect(await (await fetchPreview(url)).text()).toBe(v1Html);

    await fake.sendText(chat, gil, '/export');
    const offer = await botMessage(fake, chat, (m) => exportLink(m.text) !== undefined, 'the export link');
    const { filename, files } = await downloadExport(exportLink(offer.text)!);
    expect(filename).toMatch(/-v5\.zip$/);
    expectExportOfLiveApp(files, t.config.DATA_DIR, sessionId);
  });
});
