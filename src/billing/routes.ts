import type { FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import type { Config } from '../config/index.js';
import type { Repos } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { Logger } from '../log.js';
import type { InboundQueue } from '../queue/inbound.js';
import { inboundGate } from '../server/inbound-gate.js';
import { BAD_LINK_PAGE, CANCEL_PAGE, RETURN_PAGE, SUCCESS_PAGE } from './pages.js';
import type { BillingService } from './service.js';
import type { CheckoutLinks } from './signed-link.js';
import { parseStripeEvent, stripeEventRefusal, verifyStripeSignature } from './stripe-event.js';

export interface BillingRouteDeps {
  billing: BillingService;
  links: CheckoutLinks;
  stripe: Stripe;
  config: Config;
  repos: Repos;
  /** Verified events are applied by the inbound worker (Stripe redelivers until it gets a 2xx). */
  inbound: InboundQueue;
  logger: Logger;
}

const HTML = 'text/html; charset=utf-8';

/**
 * `POST /stripe/webhook` (signature checked on the raw bytes before anything else), the
 * checkout redirect behind the Upgrade buttons, and the pages Stripe sends people back to.
 */
export async function registerBillingRoutes(app: FastifyInstance, deps: BillingRouteDeps): Promise<void> {
  const { config } = deps;
  const secret = config.STRIPE_WEBHOOK_SECRET;

  app.post('/stripe/webhook', { onRequest: inboundGate(deps.inbound) }, async (request, reply) => {
    const signature = request.headers['stripe-signature'];
    if (!secret || typeof signature !== 'string' || !request.rawBody) {
      throw new SpawnError('ERR_STRIPE_SIGNATURE', 'Missing Stripe signature or body.');
    }
    verifyStripeSignature(request.rawBody, signature, secret);
    const parsed = parseStripeEvent(request.rawBody);
    if (!parsed.ok) {
      deps.logger[parsed.problem === 'malformed' ? 'warn' : 'error'](
        { eventId: parsed.eventId, type: parsed.type, apiVersion: parsed.apiVersion, reason: parsed.reason },
        'stripe event refused',
      );
      throw stripeEventRefusal(parsed);
    }
    // Applied in the inbound worker, once per event id (the job id, and the payments table).
    await deps.inbound.enqueue('stripe', parsed.event.id, 'event', parsed.event);
    return reply.status(200).send({ received: true });
  });

  app.get('/billing/checkout', async (request, reply) => {
    const token = (request.query as { t?: unknown }).t;
    const intent = typeof token === 'string' ? deps.links.verify(token) : undefined;
    const user = intent && (await deps.repos.users.get(intent.userId));
    if (!intent || !user) return reply.status(400).type(HTML).send(BAD_LINK_PAGE);
    const session = intent.sessionId ? await deps.repos.sessions.get(intent.sessionId) : undefined;
    const url = await deps.billing.checkout(user, intent.kind, {
      sessionId: intent.sessionId,
      conversation:
        session?.conversation ??
        (await deps.repos.payments.latestWithConversation(user.id))?.conversation ??
        undefined,
    });
    return reply.redirect(url, 303);
  });

  app.get('/billing/success', async (_request, reply) => reply.type(HTML).send(SUCCESS_PAGE));
  app.get('/billing/cancel', async (_request, reply) => reply.type(HTML).send(CANCEL_PAGE));
  app.get('/billing/return', async (_request, reply) => reply.type(HTML).send(RETURN_PAGE));
}
