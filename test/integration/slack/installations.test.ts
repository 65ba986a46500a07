import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NewInstallation, SlackInstallations } from '../../../adapters/slack/installations.js';
import { SecretBox } from '../../../src/util/secret-box.js';
import { DB_KINDS, openTestDatabase, type TestDatabase } from '../../helpers/db.js';

const KEY = 'cd'.repeat(32);
const install = (over: Partial<NewInstallation> = {}): NewInstallation => ({
  id: 'T0INITECH',
  teamId: 'T0INITECH',
  enterpriseId: null,
  teamName: 'Initech',
  appId: 'A0SPAWNAI',
  botUserId: 'U0INITBOT',
  botId: 'B0INITBOT',
  botToken: 'xoxb-initech-secret-token',
  scopes: 'chat:write,commands',
  installedBy: 'U0PETER',
  ...over,
});

describe.each(DB_KINDS)('slack installations on %s', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('stores the bot token sealed, reads it back, replaces it on reinstall and forgets it on uninstall', async () => {
    const store = new SlackInstallations(db.repos.slackInstallations, new SecretBox(KEY), undefined);
    await store.save(install());
    const row = await db.repos.slackInstallations.get('T0INITECH');
    expect(row?.botTokenEncrypted).not.toContain('xoxb-initech-secret-token');
    expect(await store.forTeam('T0INITECH')).toEqual({
      teamId: 'T0INITECH',
      token: 'xoxb-initech-secret-token',
      botUserId: 'U0INITBOT',
      botId: 'B0INITBOT',
    });
    await store.save(install({ botToken: 'xoxb-initech-new-token', teamName: 'Initech Inc' }));
    expect((await store.forTeam('T0INITECH')).token).toBe('xoxb-initech-new-token');
    expect(await db.repos.slackInstallations.list()).toHaveLength(1);
    expect((await db.repos.slackInstallations.get('T0INITECH'))?.teamName).toBe('Initech Inc');

    // Another ENCRYPTION_KEY cannot open it: an auth error that asks for a reinstall, no token shown.
    const wrongKey = new SlackInstallations(
      db.repos.slackInstallations,
      new SecretBox('ef'.repeat(32)),
      undefined,
    );
    await expect(wrongKey.forTeam('T0INITECH')).rejects.toMatchObject({ code: 'ERR_PLATFORM_AUTH' });

    expect(await store.remove('T0INITECH')).toBe(true);
    await expect(store.forTeam('T0INITECH')).rejects.toMatchObject({ code: 'ERR_PLATFORM_AUTH' });
    expect(await store.remove('T0INITECH')).toBe(false);
  });

  it('with installs on, serves SLACK_BOT_TOKEN only to its own workspace', async () => {
    let asked = 0;
    const store = new SlackInstallations(
      db.repos.slackInstallations,
      new SecretBox(KEY),
      'xoxb-single',
      async () => {
        asked += 1;
        return { teamId: 'T0SINGLE', botUserId: 'U0SB' };
      },
    );
    expect(await store.forTeam('T0SINGLE')).toMatchObject({ token: 'xoxb-single', botUserId: 'U0SB' });
    await expect(store.forTeam('T0ELSE')).rejects.toMatchObject({ code: 'ERR_PLATFORM_AUTH' });
    expect(asked).toBe(1);
    // Without installs (single-workspace mode) it serves whoever Slack signed for.
    const single = new SlackInstallations(undefined, undefined, 'xoxb-single');
    expect((await single.forTeam('T0ANY')).token).toBe('xoxb-single');
  });
});
