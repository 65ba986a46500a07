import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordCommand } from '../../../adapters/discord/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { StartupError } from '../../../src/errors.js';
import { discordEnv, FakeDiscord } from '../../fakes/discord/harness.js';
import { runCli } from '../../helpers/cli.js';

let fake: FakeDiscord;
let guildId: string;

beforeAll(async () => {
  fake = await new FakeDiscord().start();
  guildId = fake.addGuild().guild.id;
});
afterAll(async () => {
  await fake?.stop();
});

async function run(args: string[], env: Record<string, string> = discordEnv(fake)) {
  let out = '';
  await discordCommand.run(args, loadConfig({ ...env, PROMPT_MAX_CHARS: '500' }), (text) => {
    out += text;
  });
  return out;
}

async function refusal(args: string[], env?: Record<string, string>): Promise<string> {
  const e = await run(args, env).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StartupError);
  return (e as Error).message;
}

describe('spawnai discord register-commands', () => {
  it('registers /spawn with its prompt option globally', async () => {
    const out = await run(['register-commands']);
    expect(out).toMatch(/Registered \/spawn globally/);
    const [command] = fake.commands.get('global') as Record<string, unknown>[];
    expect(command).toMatchObject({
      name: 'spawn',
      type: 1,
      contexts: [0, 1],
      options: [
        { type: 3, name: 'prompt', required: true, max_length: 500 },
        { type: 11, name: 'picture', required: false },
      ],
    });
    // PUT replaces the whole set: running it again changes nothing.
    await run(['register-commands']);
    expect(fake.commands.get('global')).toHaveLength(1);
  });

  it('registers in one guild with --guild ID (or --guild=ID)', async () => {
    expect(await run(['register-commands', '--guild', guildId])).toContain(`in guild ${guildId}`);
    expect(await run(['register-commands', `--guild=${guildId}`])).toContain(`in guild ${guildId}`);
    expect(fake.commands.get(guildId)).toHaveLength(1);
  });

  it('says what is wrong, in one line, without secrets', async () => {
    expect(await refusal(['register-commands', '--guild', 'abc'])).toMatch(/numeric guild id/);
    expect(await refusal(['register-commands', '--guild'])).toMatch(/numeric guild id/);
    expect(await refusal(['register-commands', '--force'])).toMatch(/unknown argument/);
    expect(await refusal(['deploy'])).toMatch(/unknown subcommand/);
    expect(await refusal(['register-commands'], { DISCORD_API_URL: fake.apiUrl })).toMatch(
      /DISCORD_BOT_TOKEN/,
    );
    const wrongToken = await refusal(['register-commands'], {
      ...discordEnv(fake),
      DISCORD_BOT_TOKEN: 'nope.secret',
    });
    expect(wrongToken).toMatch(/check DISCORD_BOT_TOKEN/);
    expect(wrongToken).not.toContain('nope.secret');
    expect(await refusal(['register-commands', '--guild', '123456789012'])).toMatch(/DISCORD_APPLICATION_ID/);
  });

  it('runs from the CLI', async () => {
    const r = await runCli(['discord', 'register-commands', '--guild', guildId], {
      ...discordEnv(fake),
      LOG_LEVEL: 'silent',
    });
    expect(r.output).toContain(`Registered /spawn in guild ${guildId}`);
    expect(r.code).toBe(0);
    const bad = await runCli(['discord', 'register-commands', '--guild', 'x'], discordEnv(fake));
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/^spawnai: discord: --guild needs a numeric guild id/m);
  }, 90_000); // two CLI processes: slow on a loaded machine, not wrong
});
