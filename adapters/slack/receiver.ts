import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError, SpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { classifySlackBody } from './normalize.js';
import { parseSlackBody, verifySlackSignature } from './verify.js';

/** Slack waits 3 s for an answer; without an ack by then we answer 200 ourselves (no retry storm). */
export const SLACK_ACK_DEADLINE_MS = 2_500;
/** How long shutdown waits for requests that were acknowledged but are still being handled. */
export const SLACK_DRAIN_TIMEOUT_MS = 5_000;

export const SLACK_EVENTS_PATH = '/slack/events';

type AckBody = string | Record<string, unknown> | undefined;

export interface FastifyReceiverOptions {
  readonly signingSecret: string;
  readonly logger: Logger;
  readonly bodyLimit: number;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Bolt's request processing mounted on our Fastify server (one HTTP stack). `POST /slack/events`
 * reads the raw bytes, verifies the signature, checks the content type and payload shape, then
 * hands the body to `app.processEvent` and answers as soon as a listener acknowledges
 * (listeners keep working after the answer, like Bolt's `processBeforeResponse: false`).
 */
export class FastifyReceiver implements Receiver {
  private app: App | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: FastifyReceiverOptions) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  /** Waits (bounded) for acknowledged requests still being handled. */
  async stop(): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SLACK_DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Registers `POST /slack/events` in its own scope, where every body is kept as raw bytes. */
  async register(server: FastifyInstance): Promise<void> {
    await server.register(async (scope) => {
      // Verification needs the exact bytes, and must run before any parsing can fail.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
        request.rawBody = body;
        done(null, body);
      });
      scope.addHook('onSend', async (_request, reply) => {
        // A refused request will be refused again: ask Slack not to retry it.
        if (reply.statusCode >= 400 && reply.statusCode < 500) reply.header('x-slack-no-retry', '1');
      });
      scope.post(SLACK_EVENTS_PATH, { bodyLimit: this.options.bodyLimit }, (request, reply) =>
        this.handle(request, reply),
      );
    });
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const rawBody = request.rawBody ?? Buffer.alloc(0);
    verifySlackSignature({
      signingSecret: this.options.signingSecret,
      timestamp: header(request, 'x-slack-request-timestamp'),
      signature: header(request, 'x-slack-signature'),
      rawBody,
    });
    const inbound = classifySlackBody(parseSlackBody(header(request, 'content-type'), rawBody));
    const log = this.options.logger;
    switch (inbound.kind) {
      case 'url_verification':
        return reply.send({ challenge: inbound.challenge });
      case 'ssl_check':
        return reply.type('text/plain').send('');
      case 'notice':
        log.warn({ type: inbound.type }, 'slack notice');
        return reply.type('text/plain').send('');
      default:
        break;
    }
    const app = this.app;
    if (!app) throw new SpawnError('ERR_INTERNAL', 'The Slack app is not ready.');
    const body =
      inbound.kind === 'event'
        ? inbound.envelope
        : inbound.kind === 'command'
          ? inbound.command
          : inbound.payload;
    const retryHeader = header(request, 'x-slack-retry-num');
    const retryNum = retryHeader && /^\d{1,2}$/.test(retryHeader) ? Number(retryHeader) : undefined;
    const retryReason = header(request, 'x-slack-retry-reason');

    let answer: (body: AckBody) => void = () => {};
    const answered = new Promise<AckBody>((resolve) => {
      answer = resolve;
    });
    const event: ReceiverEvent = {
      body: body as unknown as ReceiverEvent['body'],
      ack: async (response?: AckBody) => {
        answer(response);
      },
      ...(retryNum !== undefined ? { retryNum } : {}),
      ...(retryReason ? { retryReason } : {}),
    };
    const processing = app
      .processEvent(event)
      .catch((e: unknown) => {
        log.error(
          { err: describeError(e), requestId: request.id },
          'slack request failed after it was accepted',
        );
      })
      .finally(() => {
        // Nothing acknowledged it (no listener): still a 200, so Slack does not retry.
        answer(undefined);
        this.pending.delete(processing);
      });
    this.pending.add(processing);
    const deadline = setTimeout(() => answer(undefined), SLACK_ACK_DEADLINE_MS);
    const response = await answered;
    clearTimeout(deadline);
    if (response === undefined || response === '') return reply.type('text/plain').send('');
    if (typeof response === 'string') return reply.type('text/plain').send(response);
    return reply.send(response);
  }
}
