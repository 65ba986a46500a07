import type { onRequestAsyncHookHandler } from 'fastify';
import type { InboundQueue } from '../queue/inbound.js';

/**
 * An `onRequest` hook for webhook routes: counts the request in flight from before its body is
 * read until its answer is sent, and refuses it with 503 + Retry-After beyond the bound, so a
 * burst costs bounded memory and the platform delivers the refused ones again.
 */
export function inboundGate(inbound: InboundQueue): onRequestAsyncHookHandler {
  return async (_request, reply) => {
    inbound.acquire();
    reply.raw.once('close', () => inbound.release());
  };
}
