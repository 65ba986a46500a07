import { localSecret } from '../../src/config/local-secrets.js';
import type { AdapterContext, PlatformAdapter } from '../contract.js';
import { createWebFileFetcher } from './files.js';
import { createWebMessenger } from './messenger.js';
import { createWebMessageHandler, registerWebRoutes } from './routes.js';

export { WEB_EDIT_INTERVAL_MS, webChannel } from './messenger.js';

/** The built-in web chat: always on, needs no keys. */
export function createWebAdapter(ctx: AdapterContext): PlatformAdapter {
  const { config } = ctx;
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
