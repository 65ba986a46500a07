import type { OwnerLookup } from '../../bots/owner.js';
import type { Config } from '../../src/config/index.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import type { PlatformAdapter } from '../contract.js';
import { createDiscordFileFetcher } from './files.js';
import { createGatewayMessageHandler } from './gateway-messages.js';
import { createDiscordMessenger } from './messenger.js';
import { DiscordApi } from './rest.js';
import { createInteractionHandler, registerInteractionRoute } from './routes.js';
import { DISCORD_VARIABLES as VARIABLES } from './types.js';
import { discordPublicKey } from './verify.js';

export { DISCORD_INTERACTIONS_PATH } from './routes.js';
export { discordCommand } from './setup.js';
export { DISCORD_EDIT_INTERVAL_MS } from './types.js';

/** The settings Discord reads. */
export type DiscordConfig = Pick<Config, (typeof VARIABLES)[number] | 'DISCORD_API_URL'>;

/** What Discord uses of the rest of the service. */
export interface DiscordServices {
  readonly logger: Logger;
  readonly conversation: ConversationHandler;
  /** Where the route and the gateway put every delivery. */
  readonly inbound: InboundQueue;
  /** For the owner rule in a session's thread (bots/owner.ts). */
  readonly repos: OwnerLookup;
}

/**
 * Discord: slash commands and buttons over HTTP interactions (web), mentions and DMs over the
 * gateway (bot), status cards over REST (worker). Off unless DISCORD_BOT_TOKEN,
 * DISCORD_APPLICATION_ID and DISCORD_PUBLIC_KEY are all set.
 */
export function createDiscordAdapter(
  config: DiscordConfig,
  ctx: DiscordServices,
): PlatformAdapter | undefined {
  const token = config.DISCORD_BOT_TOKEN;
  const applicationId = config.DISCORD_APPLICATION_ID;
  const publicKeyHex = config.DISCORD_PUBLIC_KEY;
  if (!token || !applicationId || !publicKeyHex) {
    const missing = VARIABLES.filter((v) => !config[v]);
    if (missing.length < VARIABLES.length) {
      ctx.logger.warn(
        { missing },
        'Discord is off: set all of DISCORD_BOT_TOKEN, DISCORD_APPLICATION_ID, DISCORD_PUBLIC_KEY',
      );
    }
    return undefined;
  }
  const logger = ctx.logger.child({ module: 'discord' });
  const api = new DiscordApi({ apiUrl: config.DISCORD_API_URL, token, applicationId });
  const messenger = createDiscordMessenger({ api, logger });
  const interactions = createInteractionHandler({
    conversation: ctx.conversation,
    outbound: messenger,
    logger,
  });
  const gatewayMessages = createGatewayMessageHandler({
    repos: ctx.repos,
    conversation: ctx.conversation,
    outbound: messenger,
    logger,
  });

  return {
    platform: 'discord',
    messenger,
    registerRoutes: (app) =>
      registerInteractionRoute(app, {
        publicKey: discordPublicKey(publicKeyHex),
        applicationId,
        outbound: messenger,
        inbound: ctx.inbound,
        logger,
      }),
    inbound: (job) => (job.data.kind === 'message' ? gatewayMessages(job) : interactions(job)),
    files: createDiscordFileFetcher(config.DISCORD_API_URL),
    async connect(signal) {
      // discord.js loads only in the process that holds the gateway.
      const { connectGateway } = await import('./connection.js');
      return connectGateway({
        token,
        ...(signal ? { signal } : {}),
        apiUrl: config.DISCORD_API_URL,
        inbound: ctx.inbound,
        logger,
      });
    },
    async close() {
      api.close();
    },
  };
}
