import type { FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import type { Config } from '../config/index.js';
import type { Repos } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { Logger } from '../log.js';
import { BAD_LINK_PAGE, CANCEL_PAGE, RETURN_PAGE, SUCCESS_PAGE } from './pages.js';
import type { BillingService } from './service.js';
import type { CheckoutLinks } from './signed-link.js';
import { applyStripeEvent, STRIPE_SIGNATURE_TOLERANCE_S } from './stripe-webhook.js';

export interface BillingRouteDeps {
  billing: BillingService;
  links: CheckoutLinks;
  stripe: Stripe;
  config: Config;
  repos: Repos;
  logger: Logger;
}

const HTML = 'text/html; charset=utf-8';

/**
 * `POST /stripe/webhook` (signature checked on the raw bytes before anything else), the
 * checkout redirect behind the Upgrade buttons, and the pages Stripe sends people back to.
 */
export async function registerBillingRoutes(app: FastifyInstance, deps: BillingRouteDeps): Promise<void> {
  const { stripe, config } = deps;
  const secret = config.STRIPE_WEBHOOK_SECRET;

  app.post('/stripe/webhook', async (request, reply) => {
    const signature = request.headers['stripe-signature'];
    if (!secret || typeof signature !== 'string' || !request.rawBody) {
      throw new SpawnError('ERR_STRIPE_SIGNATURE', 'Missing Stripe signature or body.');
    }
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(
        request.rawBody,
        signature,
        secret,
        STRIPE_SIGNATURE_TOLERANCE_S,
      );
    } catch {
      throw new SpawnError('ERR_STRIPE_SIGNATURE');
    }
    const result = await applyStripeEvent(event, deps);
    return reply.status(200).send({ received: true, result });
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
