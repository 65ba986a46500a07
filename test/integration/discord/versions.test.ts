import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  botMessages,
  customIds,
  type DiscordWorld,
  embedOf,
  type FakeChannel,
  type FakeUser,
  links,
  readyMessage,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import { until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { downloadExport, expectExportOfLiveApp } from '../../helpers/versions.js';

let w: DiscordWorld;
let general: FakeChannel;
let alice: FakeUser;

beforeAll(async () => {
  w = await startDiscordWorld({
    roles: { bot: true },
    env: { OFFLINE_BUILD_STEP_MS: '50' },
    prepare: (fake) => {
      general = fake.addGuild('Crux Climbing').channel;
      alice = fake.user('alice');
    },
  });
});
afterAll(async () => {
  await w?.stop();
});

const html = async (url: string) => (await fetchPreview(url, { signal: AbortSignal.timeout(5000) })).text();
const exportLink = (text: string) => /(http:\/\/localhost:\d+\/export\/[\w.-]+)/.exec(text)?.[1];

describe('discord: versions, rollback, Undo and export', () => {
  it('/spawn versions, /spawn rollback 1, a change on version 1, the Undo button and an export equal to the running app', async () => {
    const { fake, t } = w;
    const mention = fake.say(alice, general.id, 'a todo list for my climbing gym', { mentionBot: true });
    const thread = await until('thread', async () => fake.channels.get(mention.id));
    const first = await readyMessage(fake, thread.id);
    const url = links(first)[0]!;
    const sessionId = /^stop:([a-z0-9]+)$/.exec(customIds(first).find((c) => c.startsWith('stop:'))!)![1]!;
    const v1Html = await html(url);
    expect(customIds(first).some((c) => c.startsWith('undo:'))).toBe(false);
    expect(customIds(first)).toContain(`export:${sessionId}`);

    const result = (text: string) =>
      until(`"${text}"`, async () =>
        botMessages(fake, thread.id, / is ready$/).find((m) => embedOf(m)?.description?.includes(text)),
      );
    fake.say(alice, thread.id, 'make it dark mode and call it Crux Crew Tasks');
    const second = await result('Change #2 is live');
    expect(customIds(second)).toContain(`undo:${sessionId}.1`);

    // Answered to alice only, in the deferred response.
    const versions = fake.signer.command(alice, thread.id, 'versions');
    await fake.signer.deliver(versions);
    const list = await until('versions answer', async () => {
      const m = fake.messages.get(versions.originalMessageId!);
      return m && m.history.length > 1 ? m : undefined;
    });
    expect(list.ephemeralFor).toBe(alice.id);
    expect(embedOf(list)?.description).toMatch(/1\. \d\d:\d\d UTC: [\s\S]*2\. \d\d:\d\d UTC: .*\(running\)/);

    await fake.signer.deliver(fake.signer.command(alice, thread.id, 'rollback 1'));
    await result('Rolled back to version 1');
    expect(await html(url)).toBe(v1Html);

    fake.say(alice, thread.id, 'call it Boulder Board');
    await result('Change #4 is live');
    const v4Html = await html(url);
    expect(v4Html).toContain('Boulder Board');
    expect(v4Html).not.toContain('Crux Crew Tasks');

    // Undo on version 2's card: version 1 again, as version 5.
    expect(
      (await fake.signer.deliver(fake.signer.press(alice, second, `undo:${sessionId}.1`))).status,
    ).toBeLessThan(300);
    await until('version 5', async () =>
      (await t.app.repos.builds.versionsForSession(sessionId)).find(
        (b) => b.version === 5 && b.rollbackOf === 1,
      ),
    );
    expect(await html(url)).toBe(v1Html);

    // Export from the card's button: a private follow-up with a signed link to the zip.
    const press = fake.signer.press(alice, second, `export:${sessionId}`);
    await fake.signer.deliver(press);
    const offer = await until('export link', async () =>
      press.followUps.map((id) => fake.messages.get(id)!).find((m) => exportLink(JSON.stringify(m))),
    );
    expect(offer.ephemeralFor).toBe(alice.id);
    const { filename, files } = await downloadExport(exportLink(JSON.stringify(offer))!);
    expect(filename).toMatch(/-v5\.zip$/);
    expectExportOfLiveApp(files, t.config.DATA_DIR, sessionId);
  });
});
