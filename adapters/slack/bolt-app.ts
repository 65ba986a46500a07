import { App, type Authorize, type Receiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { SlackHandlers } from './handlers.js';
import type { SlackTokens } from './installations.js';
import { parseBlockActions, parseEventEnvelope, parseSlashCommand } from './normalize.js';
import { slackLogger } from './web-api.js';

export interface BoltAppOptions {
  readonly receiver: Receiver;
  readonly tokens: SlackTokens;
  readonly clientOptions: WebClientOptions;
  readonly handlers: SlackHandlers;
  readonly logger: Logger;
}

/** Events we act on; the rest are acknowledged by Bolt and dropped. */
const EVENTS = /^(app_mention|message|app_uninstalled|tokens_revoked)$/;

/**
 * The Bolt app behind both receivers (HTTP on our Fastify server, or Socket Mode). `authorize`
 * looks the workspace's token up (installation or SLACK_BOT_TOKEN) without calling Slack, so
 * building the app never needs a reachable Slack. Listeners acknowledge first, then work.
 */
export function createBoltApp(options: BoltAppOptions): App {
  const { handlers, logger } = options;
  const authorize: Authorize<boolean> = async (source) => {
    const teamId = source.teamId ?? source.enterpriseId ?? '';
    const auth = await options.tokens.forTeam(teamId);
    return {
      botToken: auth.token,
      teamId,
      ...(auth.botUserId ? { botUserId: auth.botUserId } : {}),
      ...(auth.botId ? { botId: auth.botId } : {}),
    };
  };
  const app = new App({
    receiver: options.receiver,
    authorize,
    clientOptions: options.clientOptions,
    logger: slackLogger(logger),
    convoStore: false,
  });

  app.command(/.*/, async ({ body, ack }) => {
    const command = parseSlashCommand(body as unknown as Record<string, unknown>);
    const note = handlers.commandAck(command);
    await ack(note);
    await handlers.command(command, note !== undefined);
  });

  app.event(EVENTS, async ({ body, context }) => {
    const envelope = parseEventEnvelope(body as unknown as Record<string, unknown>);
    await handlers.event(envelope, context.botUserId);
  });

  // Every button press is acknowledged, URL buttons included (Slack shows a warning otherwise).
  app.action(/.*/, async ({ body, ack }) => {
    await ack();
    if (body.type !== 'block_actions') return;
    await handlers.action(parseBlockActions(body as unknown as Record<string, unknown>));
  });

  app.error(async (error) => {
    logger.warn({ err: describeError(error) }, 'slack listener error');
  });
  return app;
}
