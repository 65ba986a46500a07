import type { Config } from '../src/config/index.js';
import type { AdapterContext, AdapterFactory, PlatformAdapter } from './contract.js';
import { DISCORD_VARIABLES } from './discord/types.js';
import { createWebAdapter } from './web/index.js';

/**
 * A platform's adapter, loaded only when one of its settings is set. Each platform folder
 * brings its SDK (@discordjs/rest, @slack/bolt and @slack/web-api, grammY): together about a
 * second of CPU at every start of a process, most of which speak to one platform or none.
 * Its factory still decides whether the settings are complete, and says what is missing.
 */
function whenSet<M>(
  variables: readonly (keyof Config)[],
  load: () => Promise<M>,
  create: (module: M, context: AdapterContext) => PlatformAdapter | undefined,
): AdapterFactory {
  return async (context) =>
    variables.some((v) => context.config[v]) ? create(await load(), context) : undefined;
}

/**
 * Every platform SpawnAI speaks. A factory returns undefined when its platform is not
 * configured. Adding a platform: its folder under adapters/, and one line here.
 */
export const ADAPTER_FACTORIES: readonly AdapterFactory[] = [
  // Each adapter declares the settings and services it uses; it sees nothing else of the context.
  async (ctx) => createWebAdapter(ctx.config, ctx),
  whenSet(
    DISCORD_VARIABLES,
    () => import('./discord/index.js'),
    (m, ctx) => m.createDiscordAdapter(ctx.config, ctx),
  ),
  whenSet(
    ['SLACK_BOT_TOKEN', 'SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET'],
    () => import('./slack/index.js'),
    (m, ctx) => m.createSlackAdapter(ctx.config, ctx),
  ),
  whenSet(
    ['TELEGRAM_BOT_TOKEN'],
    () => import('./telegram/index.js'),
    (m, ctx) => m.createTelegramAdapter(ctx.config, ctx),
  ),
];
