import { createHmac } from 'node:crypto';
import type { OwnerLookup } from '../../bots/owner.js';
import type { Config } from '../../src/config/index.js';
import { localSecret } from '../../src/config/local-secrets.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import type { Repos } from '../../src/db/repos/index.js';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import type { Redis } from '../../src/redis/connection.js';
import { SecretBox } from '../../src/util/secret-box.js';
import type { PlatformAdapter } from '../contract.js';
import { connectSocketMode } from './connection.js';
import { createSlackFileFetcher } from './files.js';
import { createSlackHandlers } from './handlers.js';
import { createSlackIngest } from './ingest.js';
import { SlackInstallations } from './installations.js';
import { createSlackMessenger, type SlackMessenger } from './messenger.js';
import { registerOAuthRoutes } from './oauth.js';
import { defaultSlackPacing, type SlackPacing, SlackUpdateBudget } from './pacing.js';
import { createSlackReach } from './reach.js';
import { registerSlackRoutes } from './routes.js';
import { callSlack, WebClients, webClientOptions } from './web-api.js';

export { SLACK_EDIT_INTERVAL_MS } from './messenger.js';
export {
  SLACK_FINAL_UPDATES_RESERVED,
  SLACK_UPDATE_TIER3_PER_MINUTE,
  SLACK_WORKSPACE_UPDATES_PER_WINDOW,
  type SlackPacing,
} from './pacing.js';
export { slackCommand } from './setup.js';

/** The settings Slack reads. */
export type SlackConfig = Pick<
  Config,
  | 'SLACK_BOT_TOKEN'
  | 'SLACK_CLIENT_ID'
  | 'SLACK_CLIENT_SECRET'
  | 'SLACK_SIGNING_SECRET'
  | 'SLACK_APP_TOKEN'
  | 'SLACK_API_URL'
  | 'ENCRYPTION_KEY'
  | 'DATA_DIR'
  | 'QUEUE_PREFIX'
  | 'BODY_LIMIT_BYTES'
  | 'PUBLIC_URL'
>;

/** What Slack uses of the rest of the service. */
export interface SlackServices {
  readonly logger: Logger;
  readonly conversation: ConversationHandler;
  /** Where the route and Socket Mode put every delivery. */
  readonly inbound: InboundQueue;
  /** The shared edit budget and the OAuth state. */
  readonly redis: Redis;
  /** Installed workspaces ("Add to Slack"), and the owner rule in a session's thread. */
  readonly repos: OwnerLookup & Pick<Repos, 'slackInstallations'>;
}

/** The Slack adapter; its edit pacing can be changed at run time (tests shorten the window). */
export interface SlackAdapter extends PlatformAdapter {
  readonly messenger: SlackMessenger;
  setPacing(pacing: Partial<SlackPacing>): void;
}

/**
 * Slack: `/spawn`, mentions, thread replies and DMs in; a Block Kit status card edited in
 * place out. Configured when a token source exists (SLACK_BOT_TOKEN, or SLACK_CLIENT_ID +
 * SLACK_CLIENT_SECRET for "Add to Slack" installs). Messages come in through
 * SLACK_SIGNING_SECRET (`POST /slack/events`) and/or SLACK_APP_TOKEN (Socket Mode in the bot
 * process); a worker needs neither, only the token source to post and edit cards.
 */
export function createSlackAdapter(config: SlackConfig, ctx: SlackServices): SlackAdapter | undefined {
  const oauth = Boolean(config.SLACK_CLIENT_ID && config.SLACK_CLIENT_SECRET);
  if (!config.SLACK_BOT_TOKEN && !oauth) return undefined;

  const logger = ctx.logger.child({ module: 'slack' });
  // A worker needs only a token to post and edit cards; a way in is for web (events) or bot.
  if (!config.SLACK_SIGNING_SECRET && !config.SLACK_APP_TOKEN) {
    logger.info(
      'slack: posting only; set SLACK_SIGNING_SECRET (POST /slack/events) or SLACK_APP_TOKEN (Socket Mode) to take messages',
    );
  }
  const encryptionKey = oauth
    ? (config.ENCRYPTION_KEY ?? localSecret(config.DATA_DIR, 'encryptionKey'))
    : undefined;
  const clientOptions = webClientOptions(config.SLACK_API_URL, logger);
  const clients = new WebClients(clientOptions);
  const installations = new SlackInstallations(
    oauth ? ctx.repos.slackInstallations : undefined,
    encryptionKey ? new SecretBox(encryptionKey) : undefined,
    config.SLACK_BOT_TOKEN,
    async (token) => {
      const who = await callSlack('auth.test', () => clients.get(token).auth.test());
      return {
        teamId: who.team_id ?? '',
        ...(who.user_id ? { botUserId: who.user_id } : {}),
        ...(who.bot_id ? { botId: who.bot_id } : {}),
      };
    },
  );
  const pacing = defaultSlackPacing();
  const messenger = createSlackMessenger({
    tokens: installations,
    clients,
    updateBudget: new SlackUpdateBudget(ctx.redis, config.QUEUE_PREFIX, pacing),
    logger,
  });
  // Where the app can post: checked by the worker before a build, remembered for the ack.
  const reach = createSlackReach({ tokens: installations, clients, logger });
  const handlers = createSlackHandlers({
    conversation: ctx.conversation,
    repos: ctx.repos,
    messenger,
    installations,
    reach,
    logger,
  });
  const warm = () =>
    installations.warm((e) => logger.warn({ err: describeError(e) }, 'SLACK_BOT_TOKEN: auth.test failed'));

  return {
    platform: 'slack',
    messenger,
    setPacing(p) {
      Object.assign(pacing, p);
    },
    inbound: (job) => handlers.inbound(job),
    files: createSlackFileFetcher(installations, config.SLACK_API_URL),
    async registerRoutes(app) {
      warm();
      if (config.SLACK_SIGNING_SECRET) {
        await registerSlackRoutes(app, {
          ingest: createSlackIngest({
            signingSecret: config.SLACK_SIGNING_SECRET,
            inbound: ctx.inbound,
            postable: (teamId, channelId) => reach.known(teamId, channelId),
            logger,
          }),
          inbound: ctx.inbound,
          bodyLimit: config.BODY_LIMIT_BYTES,
        });
      }
      if (oauth && encryptionKey) {
        await registerOAuthRoutes(app, {
          clientId: config.SLACK_CLIENT_ID!,
          clientSecret: config.SLACK_CLIENT_SECRET!,
          apiUrl: config.SLACK_API_URL,
          publicUrl: config.PUBLIC_URL,
          // A key of its own for the OAuth state, derived from the one that seals tokens.
          stateKey: createHmac('sha256', Buffer.from(encryptionKey, 'hex'))
            .update('slack-oauth-state')
            .digest(),
          redis: ctx.redis,
          prefix: config.QUEUE_PREFIX,
          installations,
          clientOptions,
          logger,
        });
      }
    },
    ...(config.SLACK_APP_TOKEN
      ? {
          connect: (signal?: AbortSignal) => {
            warm();
            return connectSocketMode({
              ...(signal ? { signal } : {}),
              appToken: config.SLACK_APP_TOKEN!,
              tokens: installations,
              clientOptions,
              inbound: ctx.inbound,
              postable: (teamId: string, channelId: string) => reach.known(teamId, channelId),
              logger,
            });
          },
        }
      : {}),
  };
}
