import type { PlatformCommand } from '../src/core/platform-command.js';
import { discordCommand } from './discord/setup.js';
import { slackCommand } from './slack/setup.js';
import { telegramCommand } from './telegram/setup.js';

/** Platform set-up commands: `spawnai <name> <subcommand>` (e.g. `spawnai slack manifest`). */
export const PLATFORM_COMMANDS: readonly PlatformCommand[] = [discordCommand, slackCommand, telegramCommand];
