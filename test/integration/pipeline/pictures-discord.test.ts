import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAnthropic } from '../../fakes/anthropic/server.js';
import {
  type DiscordWorld,
  type FakeUser,
  readyMessage,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import { until } from '../../helpers/app.js';
import { claudeEnv, expectImageBlocks, JPEG, PDF, PNG, pictureApp } from '../../helpers/pictures.js';

let anthropic: FakeAnthropic;
let w: DiscordWorld;
let alice: FakeUser;
beforeAll(async () => {
  anthropic = await new FakeAnthropic().start();
  w = await startDiscordWorld({
    roles: { bot: true },
    env: claudeEnv(anthropic),
    prepare: (fake) => {
      fake.addGuild('Crux Climbing');
      alice = fake.user('alice');
    },
  });
});
afterAll(async () => {
  await w?.stop();
  await anthropic?.stop();
});

/** Every text a channel's bot messages show (content and embeds). */
function shownIn(channelId: string): string {
  return w.fake
    .messagesIn(channelId)
    .filter((m) => m.author.bot)
    .map((m) => `${m.content}\n${JSON.stringify(m.embeds)}`)
    .join('\n');
}

describe('Discord: message attachments go to Claude with the message', () => {
  it('fetches each attachment from its signed CDN url and sends them as base64 image blocks', async () => {
    const { fake } = w;
    anthropic.reset();
    anthropic.script(pictureApp('Discord Picture'));
    const dm = fake.dmChannel(alice);
    fake.say(alice, dm.id, 'make it look like these', {
      attachments: [
        fake.attachment(dm.id, { filename: 'mock.png', contentType: 'image/png', bytes: PNG }),
        // content_type is optional on the attachment object: the file name tells.
        fake.attachment(dm.id, { filename: 'photo.jpeg', bytes: JPEG }),
      ],
    });
    await readyMessage(fake, dm.id, 1, 60_000);
    expectImageBlocks(anthropic, [
      { type: 'image/png', data: PNG },
      { type: 'image/jpeg', data: JPEG },
    ]);
    expect(fake.cdnRequests.map((r) => r.signed)).toEqual([true, true]);
  });

  it('takes the picture of /spawn from its attachment option (resolved attachment)', async () => {
    const { fake } = w;
    anthropic.reset();
    anthropic.script(pictureApp('Slash Picture'));
    const carol = fake.user('carol');
    const dm = fake.dmChannel(carol);
    const picture = fake.attachment(dm.id, { filename: 'sketch.png', contentType: 'image/png', bytes: PNG });
    const res = await fake.signer.deliver(
      fake.signer.command(carol, dm.id, 'a page like this', 'spawn', picture),
    );
    expect(res.status).toBeLessThan(300);
    await until('the build used the picture', async () =>
      anthropic.messageRequests().length > 0 ? true : undefined,
    );
    expectImageBlocks(anthropic, [{ type: 'image/png', data: PNG }]);
    await readyMessage(fake, dm.id, 1, 60_000);
  });

  it('refuses a file too large or not a picture with a clear message, before any download or model call', async () => {
    const { fake } = w;
    anthropic.reset();
    const bob = fake.user('bob');
    const dm = fake.dmChannel(bob);
    const fetched = fake.cdnRequests.length;
    fake.say(bob, dm.id, 'like this', {
      attachments: [
        fake.attachment(dm.id, {
          filename: 'huge.png',
          contentType: 'image/png',
          bytes: PNG,
          declaredSize: 8 * 1024 * 1024,
        }),
      ],
    });
    // Embeds are shown as JSON here, so the quotes around the name are escaped.
    await until('the size refusal', async () =>
      shownIn(dm.id).includes('huge.png\\" is 8 MB; I can look at pictures of up to 3.75 MB each.')
        ? true
        : undefined,
    );
    fake.say(bob, dm.id, 'like this', {
      attachments: [
        fake.attachment(dm.id, { filename: 'brief.pdf', contentType: 'application/pdf', bytes: PDF }),
      ],
    });
    await until('the type refusal', async () =>
      shownIn(dm.id).includes('is of type application/pdf') ? true : undefined,
    );
    expect(fake.cdnRequests.length).toBe(fetched);
    expect(anthropic.messageRequests()).toHaveLength(0);
  });
});
