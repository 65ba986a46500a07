import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DiscordWorld,
  embedOf,
  type FakeChannel,
  type FakeUser,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import { until } from '../../helpers/app.js';
import { WebChatClient } from '../../helpers/web-client.js';

let w: DiscordWorld;
let general: FakeChannel;
let dee: FakeUser;

beforeAll(async () => {
  w = await startDiscordWorld({
    prepare: (fake) => {
      general = fake.addGuild('Bakery').channel;
      dee = fake.user('dee');
    },
  });
});
afterAll(async () => {
  await w?.stop();
});

/** `/spawn prompt:<text>` in a guild channel: the answer must be for the person alone. */
async function command(text: string, title: string) {
  const { fake } = w;
  const i = fake.signer.command(dee, general.id, text);
  const res = await fake.signer.deliver(i);
  expect(res.status).toBeLessThan(300);
  const original = await until(`the answer to ${text}`, async () => {
    const m = fake.messages.get(i.originalMessageId!);
    return m && embedOf(m)?.title === title ? m : undefined;
  });
  expect(i.ack).toMatchObject({ ephemeral: true });
  return embedOf(original)!;
}

describe('discord: /spawn link', () => {
  it('gives the code only to the person, the web chat joins with it, /spawn unlink undoes it', async () => {
    const { t } = w;
    const issued = await command('link', 'Link another platform');
    const code = /Your code: ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(issued.description ?? '')?.[1];
    expect(code).toBeDefined();

    const web = new WebChatClient(t.url);
    const webId = await web.open();
    const linked = await web.send(`link ${code}`);
    expect(linked.replies[0]!.view).toMatchObject({ title: 'Accounts linked' });
    expect(linked.replies[0]!.view.text).toContain('linked with Discord');
    const account = (await t.app.repos.users.findIdentity('web', '', webId))!.userId;
    const platforms = async () =>
      (await t.app.repos.users.identitiesOf(account)).map((i) => i.platform).sort();
    expect(await platforms()).toEqual(['discord', 'web']);

    const wrong = await command('link ZZZZ-ZZZZ', 'Cannot link');
    expect(wrong.description).toBe('That code is not valid or has expired.');

    await command('unlink', 'Unlinked');
    expect(await platforms()).toEqual(['web']);
  });
});
