import { SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Connection } from '../../src/core/adapter.js';
import { describeError, SpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { createBoltApp } from './bolt-app.js';
import type { SlackHandlers } from './handlers.js';
import type { SlackTokens } from './installations.js';
import { slackLogger } from './web-api.js';

export interface SocketModeOptions {
  /** SLACK_APP_TOKEN (`xapp-`). */
  readonly appToken: string;
  readonly tokens: SlackTokens;
  readonly clientOptions: WebClientOptions;
  readonly handlers: SlackHandlers;
  readonly logger: Logger;
}

/**
 * Socket Mode for workspaces without a public URL (the `bot` process): Bolt's
 * SocketModeReceiver with the same listeners as the HTTP path. Its own WebClient (the one that
 * calls `apps.connections.open`) takes its options from `installerOptions.clientOptions`.
 */
export async function connectSocketMode(options: SocketModeOptions): Promise<Connection> {
  const logger = options.logger.child({ transport: 'socket-mode' });
  const receiver = new SocketModeReceiver({
    appToken: options.appToken,
    logger: slackLogger(logger),
    installerOptions: { clientOptions: options.clientOptions },
    autoReconnectEnabled: true,
  });
  const app = createBoltApp({
    receiver,
    tokens: options.tokens,
    clientOptions: options.clientOptions,
    handlers: options.handlers,
    logger,
  });
  try {
    await app.start();
  } catch (e) {
    await Promise.resolve(app.stop()).catch(() => {});
    throw new SpawnError(
      'ERR_PLATFORM_UNAVAILABLE',
      'Slack Socket Mode could not connect (check SLACK_APP_TOKEN).',
      {
        cause: e,
      },
    );
  }
  logger.info('slack socket mode connected');
  return {
    async stop() {
      await Promise.resolve(app.stop()).catch((e: unknown) => {
        logger.warn({ err: describeError(e) }, 'slack socket mode stop');
      });
    },
  };
}
