import { Routes } from 'discord-api-types/v10';
import type { Config } from '../../src/config/index.js';
import type { PlatformCommand } from '../../src/core/platform-command.js';
import { isSpawnError, StartupError } from '../../src/errors.js';
import { slashCommands } from './commands.js';
import { DiscordApi } from './rest.js';

const USAGE = [
  'discord register-commands [--guild ID]   register /spawn (globally, or in one guild where it appears at once)',
];

function parseArgs(args: readonly string[]): { guildId?: string } {
  const [sub, ...rest] = args;
  if (sub !== 'register-commands') {
    throw new StartupError(`discord: unknown subcommand "${sub ?? ''}"; usage: spawnai ${USAGE[0]}`);
  }
  let guildId: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const inline = /^--guild=(.*)$/.exec(arg);
    if (arg === '--guild' || inline) {
      const value = inline ? inline[1] : rest[++i];
      if (!value || !/^\d{5,25}$/.test(value))
        throw new StartupError('discord: --guild needs a numeric guild id');
      guildId = value;
    } else {
      throw new StartupError(`discord: unknown argument "${arg.slice(0, 40)}"; usage: spawnai ${USAGE[0]}`);
    }
  }
  return guildId ? { guildId } : {};
}

/** `spawnai discord register-commands [--guild ID]`: PUTs the slash commands (idempotent). */
export const discordCommand: PlatformCommand = {
  name: 'discord',
  usage: USAGE,
  async run(args: readonly string[], config: Config, out: (text: string) => void): Promise<void> {
    const { guildId } = parseArgs(args);
    const token = config.DISCORD_BOT_TOKEN;
    const applicationId = config.DISCORD_APPLICATION_ID;
    if (!token || !applicationId) {
      throw new StartupError(
        'discord: set DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID to register commands',
      );
    }
    const api = new DiscordApi({ apiUrl: config.DISCORD_API_URL, token, applicationId });
    const body = slashCommands(config.PROMPT_MAX_CHARS);
    try {
      const registered = await api.call<{ name: string; id: string }[]>('register commands', (rest) =>
        rest.put(
          guildId
            ? Routes.applicationGuildCommands(applicationId, guildId)
            : Routes.applicationCommands(applicationId),
          { body },
        ),
      );
      const names = registered.map((c) => `/${c.name}`).join(', ');
      out(
        guildId
          ? `Registered ${names} in guild ${guildId}; it can be used there now.\n`
          : `Registered ${names} globally; Discord may take a few minutes to show it everywhere.\n`,
      );
    } catch (e) {
      if (isSpawnError(e)) {
        const hint =
          e.code === 'ERR_PLATFORM_AUTH'
            ? ' (check DISCORD_BOT_TOKEN)'
            : e.code === 'ERR_PLATFORM_PERMISSION' || e.code === 'ERR_PLATFORM_NOT_FOUND'
              ? ' (check DISCORD_APPLICATION_ID, and that the bot is in that guild)'
              : '';
        throw new StartupError(`discord: ${e.message}${hint}`);
      }
      throw e;
    } finally {
      api.close();
    }
  },
};
