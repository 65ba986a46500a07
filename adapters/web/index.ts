import type { Config } from '../../src/config/index.js';
import { localSecret } from '../../src/config/local-secrets.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import type { Repos } from '../../src/db/repos/index.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import type { Redis } from '../../src/redis/connection.js';
import type { PubSub } from '../../src/redis/pubsub.js';
import type { PlatformAdapter } from '../contract.js';
import { createWebFileFetcher } from './files.js';
import { createWebMessenger } from './messenger.js';
import { createWebMessageHandler, registerWebRoutes } from './routes.js';

export { WEB_EDIT_INTERVAL_MS, webChannel } from './messenger.js';

/** The settings the web chat reads. */
export type WebConfig = Pick<
  Config,
  'QUEUE_PREFIX' | 'PROMPT_MAX_CHARS' | 'COOKIE_SECRET' | 'DATA_DIR' | 'PUBLIC_URL'
>;

/** What the web chat uses of the rest of the service. */
export interface WebServices {
  /** Chat history, and the people and apps the page lists. */
  readonly repos: Pick<Repos, 'webMessages' | 'users' | 'sessions'>;
  readonly pubsub: PubSub;
  readonly conversation: ConversationHandler;
  readonly inbound: InboundQueue;
  /** Holds uploaded pictures until their build has read them. */
  readonly redis: Redis;
}

/** The built-in web chat: always on, needs no keys. */
export function createWebAdapter(config: WebConfig, ctx: WebServices): PlatformAdapter {
  const messenger = createWebMessenger(ctx.repos, ctx.pubsub, config.QUEUE_PREFIX);
  return {
    platform: 'web',
    messenger,
    inbound: createWebMessageHandler({
      conversation: ctx.conversation,
      messenger,
      promptMaxChars: config.PROMPT_MAX_CHARS,
    }),
    files: createWebFileFetcher(ctx.redis, config.QUEUE_PREFIX),
    registerRoutes: (app) =>
      registerWebRoutes(app, {
        repos: ctx.repos,
        pubsub: ctx.pubsub,
        prefix: config.QUEUE_PREFIX,
        conversation: ctx.conversation,
        messenger,
        cookieSecret: config.COOKIE_SECRET ?? localSecret(config.DATA_DIR, 'cookieSecret'),
        secureCookies: config.PUBLIC_URL.startsWith('https://'),
        promptMaxChars: config.PROMPT_MAX_CHARS,
        inbound: ctx.inbound,
        redis: ctx.redis,
      }),
  };
}
