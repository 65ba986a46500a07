import { App, type Authorize, type Receiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import { commandAck, deliveryOf } from './ingest.js';
import type { SlackTokens } from './installations.js';
import { parseBlockActions, parseEventEnvelope, parseSlashCommand } from './parse.js';
import { slackLogger } from './web-api.js';

export interface BoltAppOptions {
  readonly receiver: Receiver;
  readonly tokens: SlackTokens;
  readonly clientOptions: WebClientOptions;
  readonly inbound: InboundQueue;
  /** Whether the app is known to be able to post in a channel (see ingest.ts's commandAck). */
  readonly postable?: (teamId: string, channelId: string) => boolean;
  readonly logger: Logger;
}

/**
 * The Bolt app behind Socket Mode (the HTTP route needs no Bolt: see ingest.ts). Its listeners
 * do what the route does: parse, enqueue the delivery on the `inbound` queue (the same job as
 * an HTTP delivery of the same event), then acknowledge; the worker does the rest. `authorize`
 * looks the workspace's token up without calling Slack.
 */
export function createBoltApp(options: BoltAppOptions): App {
  const { inbound, logger } = options;
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
    // Our own messages are dropped by the worker (it knows the bot user of every workspace).
    ignoreSelf: false,
  });

  // Not acknowledged when it could not be queued: Slack delivers the envelope again.
  app.command(/.*/, async ({ body, ack }) => {
    const command = parseSlashCommand(body as unknown as Record<string, unknown>);
    const postable = options.postable?.(command.team_id, command.channel_id) ?? true;
    const note = commandAck(command, inbound.busy, postable);
    await inbound.enqueue('slack', command.trigger_id, 'command', {
      kind: 'command',
      command,
      acked: note !== undefined,
    });
    await ack(note);
  });

  app.event(/.*/, async ({ body }) => {
    const work = deliveryOf({
      kind: 'event',
      envelope: parseEventEnvelope(body as unknown as Record<string, unknown>),
    });
    if (work) await inbound.enqueue('slack', work.id, work.delivery.kind, work.delivery);
  });

  app.action(/.*/, async ({ body, ack }) => {
    if (body.type === 'block_actions') {
      const payload = parseBlockActions(body as unknown as Record<string, unknown>);
      await inbound.enqueue('slack', payload.trigger_id, 'action', { kind: 'action', payload });
    }
    await ack();
  });

  app.error(async (error) => {
    logger.warn({ err: describeError(error) }, 'slack listener error');
  });
  return app;
}
