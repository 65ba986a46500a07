import type { PlatformCommand } from '../src/core/platform-command.js';
import type { AdapterFactory } from './contract.js';
import { createDiscordAdapter, discordCommand } from './discord/index.js';
import { createSlackAdapter, slackCommand } from './slack/index.js';
import { createTelegramAdapter, telegramCommand } from './telegram/index.js';
import { createWebAdapter } from './web/index.js';

/**
 * Every platform SpawnAI speaks. A factory returns undefined when its platform is not
 * configured. Adding a platform: its folder under adapters/, and one line here.
 */
export const ADAPTER_FACTORIES: readonly AdapterFactory[] = [
  // Each adapter declares the settings and services it uses; it sees nothing else of the context.
  (ctx) => createWebAdapter(ctx.config, ctx),
  (ctx) => createDiscordAdapter(ctx.config, ctx),
  (ctx) => createSlackAdapter(ctx.config, ctx),
  (ctx) => createTelegramAdapter(ctx.config, ctx),
];

/** Platform set-up commands: `spawnai <name> <subcommand>` (e.g. `spawnai slack manifest`). */
export const PLATFORM_COMMANDS: readonly PlatformCommand[] = [discordCommand, slackCommand, telegramCommand];
