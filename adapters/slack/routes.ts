import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Admission, InboundQueue } from '../../src/queue/inbound.js';
import { admissionOf, inboundGate } from '../../src/server/inbound-gate.js';
import { SLACK_EVENTS_PATH, type SlackIngest, slackErrorHeaders } from './ingest.js';

function header(headers: FastifyRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * `POST /slack/events` (events, slash commands, interactivity): served on the bare HTTP server
 * before Fastify's routing (the fast path), and as a Fastify route in its own scope for
 * everything that does not come through the socket (`inject`, a query string).
 */
export async function registerSlackRoutes(
  server: FastifyInstance,
  options: { ingest: SlackIngest; inbound: InboundQueue; bodyLimit: number },
): Promise<void> {
  const { ingest, inbound } = options;
  const handle = (rawBody: Buffer, headers: FastifyRequest['headers'], admission: Admission) =>
    ingest({
      rawBody,
      contentType: header(headers, 'content-type'),
      timestamp: header(headers, 'x-slack-request-timestamp'),
      signature: header(headers, 'x-slack-signature'),
      admission,
    });
  // Slack never sends a slash command again: one over the bound is told so (see ingest).
  const gate = { tellWhenFull: true };
  server.fastPaths.register(SLACK_EVENTS_PATH, {
    bodyLimit: options.bodyLimit,
    admit: () => inbound.acquire(gate),
    done: (admission) => inbound.release(admission),
    handle: ({ rawBody, headers }, admission) => handle(rawBody, headers, admission),
    errorHeaders: slackErrorHeaders,
  });
  await server.register(async (scope) => {
    // Verification needs the exact bytes, and must run before any parsing can fail.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
      request.rawBody = body;
      done(null, body);
    });
    scope.addHook('onSend', async (_request, reply) => {
      for (const [k, v] of Object.entries(slackErrorHeaders(reply.statusCode))) reply.header(k, v);
    });
    scope.post(
      SLACK_EVENTS_PATH,
      { bodyLimit: options.bodyLimit, onRequest: inboundGate(inbound, gate) },
      async (request, reply) => {
        const answer = await handle(
          request.rawBody ?? Buffer.alloc(0),
          request.headers,
          admissionOf(request),
        );
        if (typeof answer.body === 'string') return reply.type('text/plain').send(answer.body);
        return reply.status(answer.status).send(answer.body);
      },
    );
  });
}
