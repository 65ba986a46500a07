import { BUSY_NOTE, TOO_BUSY_NOTE } from '../../bots/busy.js';
import { ACCOUNT_WORDS, SUBCOMMANDS } from '../../bots/commands.js';
import { SpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { type Admission, INBOUND_RETRY_AFTER_MS, type InboundQueue } from '../../src/queue/inbound.js';
import {
  type BlockActions,
  classifySlackBody,
  type EventEnvelope,
  type SlackInbound,
  type SlashCommand,
} from './parse.js';
import { escapeMrkdwn } from './render.js';
import { parseSlackBody, verifySlackSignature } from './verify.js';

/**
 * The Slack request path: verify → parse → enqueue one `inbound` job → answer. No database,
 * no Bolt, no conversation: Slack's 3 s ack is answered from the parsed request alone, and
 * the worker (handlers.ts) does the rest. Imports no platform SDK.
 */

export const SLACK_EVENTS_PATH = '/slack/events';

/** First words of `/spawn <word>` that are commands, not prompts; `link`/`unlink` are never "Queued". */
const NOT_A_BUILD = new Set<string>([...SUBCOMMANDS, ...ACCOUNT_WORDS]);
const ACK_PROMPT_CHARS = 200;
/** Events the worker acts on; the others are acknowledged and dropped here. */
const EVENTS = /^(app_mention|message|app_uninstalled|tokens_revoked)$/;

/** What one Slack delivery becomes on the `inbound` queue. */
export type SlackDelivery =
  | { readonly kind: 'command'; readonly command: SlashCommand; readonly acked: boolean }
  | { readonly kind: 'event'; readonly envelope: EventEnvelope }
  | { readonly kind: 'action'; readonly payload: BlockActions };

/** The ephemeral note a slash command is acknowledged with (within Slack's 3 s). */
export interface CommandAck {
  readonly response_type: 'ephemeral';
  readonly text: string;
}

/**
 * The immediate answer to a slash command: a "queued" note for a build; nothing for other
 * commands, unless the queue is long, when the person is told it will take a while.
 */
export function commandAck(command: SlashCommand, busy = false, postable = true): CommandAck | undefined {
  const text = command.text.trim();
  if (!startsBuild(text)) {
    return busy ? { response_type: 'ephemeral', text: `:hourglass_flowing_sand: ${BUSY_NOTE}` } : undefined;
  }
  const prompt = text.length > ACK_PROMPT_CHARS ? `${text.slice(0, ACK_PROMPT_CHARS - 1)}…` : text;
  // The status card is promised only where the app is known to be able to post; the worker
  // checks before it builds anything and answers through response_url where it cannot.
  const head = postable
    ? `:hourglass_flowing_sand: Queued: ${escapeMrkdwn(prompt)}`
    : `:hourglass_flowing_sand: Got it: ${escapeMrkdwn(prompt)}`;
  const tail = postable ? 'The status will appear here and be updated as it builds.' : '';
  return {
    response_type: 'ephemeral',
    text: [head, [busy ? BUSY_NOTE : '', tail].filter(Boolean).join(' ')].filter(Boolean).join('\n'),
  };
}

/** Whether `/spawn <text>` asks for a build (not a subcommand, not empty). */
export function startsBuild(text: string): boolean {
  const first = text.split(/\s+/)[0]?.toLowerCase() ?? '';
  return text !== '' && !NOT_A_BUILD.has(first);
}

/** An HTTP answer, independent of the server that sends it. */
export interface SlackAnswer {
  readonly status: number;
  /** JSON bodies are objects; text bodies strings (empty: an empty 200). */
  readonly body: string | Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SlackRequest {
  readonly rawBody: Buffer;
  readonly contentType: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  /** `told`: over this process's bound of requests in flight; nothing may be queued. */
  readonly admission?: Admission;
}

const EMPTY: SlackAnswer = { status: 200, body: '' };

/** The delivery (and its id) a verified, classified request becomes; undefined when it needs no work. */
export function deliveryOf(inbound: SlackInbound): { id: string; delivery: SlackDelivery } | undefined {
  switch (inbound.kind) {
    case 'command':
      return {
        id: inbound.command.trigger_id,
        delivery: { kind: 'command', command: inbound.command, acked: false },
      };
    case 'event':
      if (!EVENTS.test(inbound.envelope.event.type)) return undefined;
      return { id: inbound.envelope.event_id, delivery: { kind: 'event', envelope: inbound.envelope } };
    case 'interaction':
      // Every button press is acknowledged, URL buttons included (Slack shows a warning otherwise).
      if (inbound.type !== 'block_actions') return undefined;
      return {
        id: String(inbound.payload.trigger_id),
        delivery: { kind: 'action', payload: inbound.payload as unknown as BlockActions },
      };
    default:
      return undefined;
  }
}

/**
 * One Slack HTTP request, end to end on the request path. Throws SpawnErrors (401 forged,
 * 400 malformed, 503 not queued) that the caller turns into the usual error body.
 */
export function createSlackIngest(options: {
  readonly signingSecret: string;
  readonly inbound: InboundQueue;
  /** Whether the app is known to be able to post in a channel (no Slack call on this path). */
  readonly postable?: (teamId: string, channelId: string) => boolean;
  readonly logger: Logger;
}) {
  const { inbound, logger } = options;
  const postable = options.postable ?? (() => true);
  return async (request: SlackRequest): Promise<SlackAnswer> => {
    verifySlackSignature({
      signingSecret: options.signingSecret,
      timestamp: request.timestamp,
      signature: request.signature,
      rawBody: request.rawBody,
    });
    const parsed = classifySlackBody(parseSlackBody(request.contentType, request.rawBody));
    switch (parsed.kind) {
      case 'url_verification':
        return { status: 200, body: { challenge: parsed.challenge } };
      case 'notice':
        logger.warn({ type: parsed.type }, 'slack notice');
        return EMPTY;
      default:
        break;
    }
    const work = deliveryOf(parsed);
    if (!work) return EMPTY;
    if (request.admission === 'told') {
      // Slack retries an event that got a 5xx (https://docs.slack.dev/apis/events-api/#retries)
      // but never a slash command: its person is told, in its ephemeral answer, to send it again.
      if (work.delivery.kind !== 'command') {
        throw new SpawnError('ERR_OVERLOADED', undefined, { retryAfterMs: INBOUND_RETRY_AFTER_MS });
      }
      logger.warn({ triggerId: work.id }, 'slack command over the in-flight bound; told to send it again');
      return {
        status: 200,
        body: { response_type: 'ephemeral', text: `:hourglass_flowing_sand: ${TOO_BUSY_NOTE}` },
      };
    }
    if (work.delivery.kind === 'command') {
      const { command } = work.delivery;
      const ack = commandAck(command, inbound.busy, postable(command.team_id, command.channel_id));
      await inbound.enqueue('slack', work.id, 'command', { ...work.delivery, acked: ack !== undefined });
      return ack ? { status: 200, body: { ...ack } } : EMPTY;
    }
    await inbound.enqueue('slack', work.id, work.delivery.kind, work.delivery);
    return EMPTY;
  };
}

export type SlackIngest = ReturnType<typeof createSlackIngest>;

/** A refused request will be refused again: ask Slack not to retry 4xx answers. */
export function slackErrorHeaders(status: number): Record<string, string> {
  return status >= 400 && status < 500 ? { 'x-slack-no-retry': '1' } : {};
}

export function isSlackAnswerError(e: unknown): e is SpawnError {
  return e instanceof SpawnError;
}
