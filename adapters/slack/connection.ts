import { SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import { describeError, SpawnError, StartupError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import type { Connection } from '../contract.js';
import { createBoltApp } from './bolt-app.js';
import type { SlackTokens } from './installations.js';
import { slackLogger } from './web-api.js';

export interface SocketModeOptions {
  /** SLACK_APP_TOKEN (`xapp-`). */
  readonly appToken: string;
  readonly tokens: SlackTokens;
  readonly clientOptions: WebClientOptions;
  readonly inbound: InboundQueue;
  readonly postable?: (teamId: string, channelId: string) => boolean;
  /** The supervisor's: the attempt was given up on (timeout, shutdown). */
  readonly signal?: AbortSignal;
  readonly logger: Logger;
}

/** Longest one Socket Mode connection attempt may take (apps.connections.open, then `hello`). */
export const SLACK_SOCKET_CONNECT_TIMEOUT_MS = 20_000;
/** Socket Mode errors that mean the app token itself is refused (see @slack/socket-mode). */
const APP_TOKEN_REFUSED = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked']);

function refusedToken(e: unknown): boolean {
  const data = (e as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' && APP_TOKEN_REFUSED.has(data.error);
}

/**
 * Socket Mode for workspaces without a public URL (the `bot` process): Bolt's
 * SocketModeReceiver whose listeners feed the same `inbound` queue as the HTTP path. Its own WebClient (the one that
 * calls `apps.connections.open`) takes its options from `installerOptions.clientOptions`.
 *
 * The SDK's own reconnect is off: it waits 5 s × failures without a cap and, when Slack cannot
 * be reached while it reconnects, rejects a promise nobody handles (which ends a Node process).
 * A dropped socket is reported through `lost` instead, and the supervisor reconnects.
 */
export async function connectSocketMode(options: SocketModeOptions): Promise<Connection> {
  options.signal?.throwIfAborted();
  const logger = options.logger.child({ transport: 'socket-mode' });
  const receiver = new SocketModeReceiver({
    appToken: options.appToken,
    logger: slackLogger(logger),
    installerOptions: { clientOptions: options.clientOptions },
    autoReconnectEnabled: false,
  });
  const app = createBoltApp({
    receiver,
    tokens: options.tokens,
    clientOptions: options.clientOptions,
    inbound: options.inbound,
    ...(options.postable ? { postable: options.postable } : {}),
    logger,
  });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const { signal } = options;
  const started = Promise.resolve(app.start());
  try {
    await Promise.race([
      started,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not connected after ${SLACK_SOCKET_CONNECT_TIMEOUT_MS / 1000} s`)),
          SLACK_SOCKET_CONNECT_TIMEOUT_MS,
        );
        onAbort = () => reject(signal?.reason ?? new Error('connection attempt aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } catch (e) {
    stopping = true;
    // The SDK's start may still be on its way (apps.connections.open, then the socket): stopped
    // now, it would open its socket after all, beside the next attempt's. So it is stopped again
    // once it gets there.
    void started.then(
      () => Promise.resolve(app.stop()).catch(() => {}),
      () => {},
    );
    await Promise.resolve(app.stop()).catch(() => {});
    if (refusedToken(e)) {
      throw new StartupError(
        'SLACK_APP_TOKEN: Slack refused the app token (create an xapp- token with connections:write)',
      );
    }
    throw new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'Slack Socket Mode could not connect.', { cause: e });
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  logger.info('slack socket mode connected');
  const lost = new Promise<Error>((resolve) => {
    receiver.client.once('disconnected', () => {
      if (!stopping) resolve(new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'Slack Socket Mode disconnected.'));
    });
  });
  return {
    lost,
    async stop() {
      stopping = true;
      await Promise.resolve(app.stop()).catch((e: unknown) => {
        logger.warn({ err: describeError(e) }, 'slack socket mode stop');
      });
    },
  };
}
