import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Admission, InboundQueue } from '../queue/inbound.js';

const admissions = new WeakMap<FastifyRequest, Admission>();

/**
 * An `onRequest` hook for webhook routes: counts the request in flight from before its body is
 * read until its answer is sent, and refuses it with 503 + Retry-After beyond the bound, so a
 * burst costs bounded memory and the platform delivers the refused ones again. With
 * `tellWhenFull` (platforms that never deliver again), some requests over the bound are let in
 * as `told` instead: see {@link admissionOf}.
 */
export function inboundGate(
  inbound: InboundQueue,
  options: { tellWhenFull?: boolean } = {},
): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const admission = inbound.acquire(options);
    admissions.set(request, admission);
    reply.raw.once('close', () => inbound.release(admission));
  };
}

/** How the gate let this request in: `told` means verify it, say "too busy" and queue nothing. */
export function admissionOf(request: FastifyRequest): Admission {
  return admissions.get(request) ?? 'taken';
}
