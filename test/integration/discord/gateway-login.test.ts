import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { StartupError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { freePort } from '../../../src/util/free-port.js';
import { discordEnv, FakeDiscord } from '../../fakes/discord/harness.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { createThrowawayPostgres } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A bot-only process (on a throwaway Postgres database) against the fake; start() is expected to fail. */
async function startBot(fake: FakeDiscord, env: Record<string, string> = {}): Promise<unknown> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'spawnai-discord-'));
  const prefix = uniquePrefix();
  const pg = await createThrowawayPostgres({ migrated: true });
  const config = loadConfig({
    ...discordEnv(fake),
    ...env,
    DATABASE_URL: pg.url,
    DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    // Its own port for /health: the default (3000) may be a running service's.
    PORT: String(await freePort()),
    PREVIEW_PORT: '0',
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
  });
  const app = await createApp(
    config,
    { web: false, worker: false, bot: true, migrate: true },
    silentLogger(),
    config.REDIS_URL,
  );
  cleanups.push(async () => {
    await app.stop();
    await cleanupPrefix(prefix);
    await pg.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return app.start().then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('discord gateway login failures name what to fix', () => {
  it('a rejected token', async () => {
    const fake = await new FakeDiscord().start();
    cleanups.push(() => fake.stop());
    const e = await startBot(fake, { DISCORD_BOT_TOKEN: 'not.the-token' });
    expect(e).toBeInstanceOf(StartupError);
    expect((e as Error).message).toMatch(/^DISCORD_BOT_TOKEN: Discord rejected the bot token/);
    expect((e as Error).message).not.toContain('not.the-token');
  });

  it('the Message Content intent not enabled for the application (close 4014)', async () => {
    const fake = await new FakeDiscord({ messageContentAllowed: false }).start();
    cleanups.push(() => fake.stop());
    const e = await startBot(fake);
    expect(e).toBeInstanceOf(StartupError);
    expect((e as Error).message).toMatch(/Message Content Intent/);
    expect(fake.gateway.stats.identifies).toBe(1);
  });
});
