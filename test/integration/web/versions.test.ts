import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { downloadExport, expectExportOfLiveApp, liveAppFiles } from '../../helpers/versions.js';
import { WebChatClient, type WebMessage } from '../../helpers/web-client.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ OFFLINE_BUILD_STEP_MS: '50' });
});
afterAll(async () => {
  await t?.stop();
});

/** The result card that says `text` (e.g. "Change #2 is live", "Rolled back to version 1"). */
function resultCard(client: WebChatClient, sessionId: string, text: string): Promise<WebMessage> {
  return until(`the card "${text}"`, async () =>
    (await client.cards(sessionId)).find(
      (c) => c.view.title.endsWith('is ready') && c.view.text.includes(text),
    ),
  );
}

const themeOf = (sessionId: string) =>
  (
    JSON.parse(liveAppFiles(t.config.DATA_DIR, sessionId).get('spawnai.json') ?? '{}') as {
      options?: { theme?: string };
    }
  ).options?.theme;

function button(card: WebMessage, label: string) {
  const b = card.view.buttons?.find((x) => x.label === label);
  return b?.kind === 'action' ? b : undefined;
}

describe('web chat: versions, rollback, undo and export', () => {
  it('lists versions, rolls back without the model, builds the next change on the rolled-back version, and exports the running app', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a todo list for my climbing gym');
    const sessionId = sent.spawn!.sessionId;
    const first = await resultCard(client, sessionId, 'Your app is live');
    // The first version has nothing to undo; it can be exported.
    expect(button(first, 'Undo')).toBeUndefined();
    expect(button(first, 'Export')).toBeDefined();
    const url = first.view.buttons?.find((b) => b.kind === 'link' && b.label === 'Open preview');
    const preview = url?.kind === 'link' ? url.url : '';
    const v1Html = await (await fetchPreview(preview)).text();
    expect(themeOf(sessionId)).toBe('light');

    await client.send('make it dark mode and call it Crux Crew Tasks');
    const second = await resultCard(client, sessionId, 'Change #2 is live');
    expect(await (await fetchPreview(preview)).text()).toContain('Crux Crew Tasks');
    expect(themeOf(sessionId)).toBe('dark');
    expect(button(second, 'Undo')).toMatchObject({ action: 'undo', version: 1 });

    // `versions`: numbered, with time and a one-line summary; the running one marked.
    const listed = await client.send('versions');
    const list = listed.replies!.find((r) => r.view.title.endsWith('versions'))!;
    expect(list.view.text).toMatch(/^1\. \d\d:\d\d UTC: Built .*\n2\. \d\d:\d\d UTC: .*\(running\)/m);

    // `rollback 1`: version 1's bundle again, no model call, no cost.
    const cost = await t.app.repos.builds.costForSession(sessionId);
    await client.send('rollback 1');
    const rolledBack = await resultCard(client, sessionId, 'Rolled back to version 1');
    expect(await (await fetchPreview(preview)).text()).toBe(v1Html);
    expect(themeOf(sessionId)).toBe('light');
    const builds = await t.app.repos.builds.listForSession(sessionId);
    const rollback = builds.at(-1)!;
    expect(rollback).toMatchObject({ status: 'succeeded', rollbackOf: 1, version: 3, costMicroUsd: 0 });
    expect(rollback.bundleSha256).toBe(builds[0]!.bundleSha256);
    expect(await t.app.repos.builds.costForSession(sessionId)).toBe(cost);
    // Undo on the rollback's card goes back to the version before it (2).
    expect(button(rolledBack, 'Undo')).toMatchObject({ version: 2 });

    // The next change builds on version 1 (light), not on version 2 (dark).
    await client.send('call it Boulder Board');
    await resultCard(client, sessionId, 'Change #4 is live');
    const v4Html = await (await fetchPreview(preview)).text();
    expect(v4Html).toContain('Boulder Board');
    expect(v4Html).not.toContain('Crux Crew Tasks');
    expect(themeOf(sessionId)).toBe('light');

    // The Undo button of version 2's card: version 1 again.
    const undo = button(second, 'Undo')!;
    const undone = await client.act('undo', undo.sessionId, undo.version);
    expect(undone.status).toBe(200);
    await resultCard(client, sessionId, 'Rolled back to version 1');
    await until('version 5 live', async () =>
      (await t.app.repos.builds.versionsForSession(sessionId)).some(
        (b) => b.version === 5 && b.rollbackOf === 1,
      ),
    );
    expect(await (await fetchPreview(preview)).text()).toBe(v1Html);
    // Rolling back to the version that runs now is refused, and nothing is built.
    const again = await client.send('rollback 1');
    expect(again.replies?.map((r) => r.view.text).join('\n')).toContain('Version 1 is the one running now');

    // Export: the Export button answers with a signed, expiring link to a zip of the running app.
    const exported = await client.act('export', sessionId);
    const offer = exported.replies!.find((r) => r.view.title.startsWith('Download'))!;
    const link = offer.view.buttons?.find((b) => b.kind === 'link');
    const href = link?.kind === 'link' ? link.url : '';
    expect(href).toMatch(/\/export\/[\w-]+\.[\w-]+$/);
    const { filename, files } = await downloadExport(href);
    expect(filename).toMatch(/-v5\.zip$/);
    expectExportOfLiveApp(files, t.config.DATA_DIR, sessionId);
    // `export` typed does the same; a link with its signature changed is refused.
    const typed = await client.send('export');
    expect(typed.replies?.some((r) => r.view.title.startsWith('Download'))).toBe(true);
    const forged = await fetchPreview(`${href.slice(0, -2)}${href.endsWith('AA') ? 'BB' : 'AA'}`);
    expect(forged.status).toBe(403);
  });
});
