import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseStripeForm } from './form.js';
import { FAKE_ACCOUNT_API_VERSION, type FakeWebhookEndpoint } from './webhooks.js';

export interface FakePrice {
  id: string;
  unitAmount: number;
  currency: string;
  recurring: boolean;
}

export interface FakeCheckoutSession {
  id: string;
  object: 'checkout.session';
  mode: 'payment' | 'subscription';
  url: string;
  status: 'open' | 'complete' | 'expired';
  payment_status: 'paid' | 'unpaid' | 'no_payment_required';
  client_reference_id: string | null;
  metadata: Record<string, string>;
  customer: string | null;
  subscription: string | null;
  payment_intent: string | null;
  amount_total: number;
  currency: string;
  expires_at: number;
  success_url: string;
  cancel_url: string | null;
  price: string;
  created: number;
}

interface Stored {
  status: number;
  body: string;
  params: string;
}

const id = (prefix: string) => `${prefix}_test_${randomBytes(8).toString('hex')}`;

/**
 * A local Stripe for tests: the API routes SpawnAI uses (Checkout Sessions, Customer Portal
 * sessions, customers, balance, webhook endpoints), Stripe's auth and error shapes, idempotency
 * replay on `Idempotency-Key`, and helpers that complete a checkout the way a paying person would.
 *
 * Sources: https://docs.stripe.com/api/idempotent_requests (the saved response is replayed; a
 * key reused with other parameters is refused), https://docs.stripe.com/api/checkout/sessions/create
 * (`expires_at` 30 minutes to 24 hours ahead), https://docs.stripe.com/api/webhook_endpoints
 * (`api_version`, `enabled_events`), https://docs.stripe.com/webhooks/versioning.
 */
export class FakeStripe {
  readonly checkoutSessions = new Map<string, FakeCheckoutSession>();
  readonly customers = new Map<string, { id: string; email: string | null }>();
  readonly portalSessions: { id: string; customer: string; return_url: string; url: string }[] = [];
  readonly requests: { method: string; path: string; idempotencyKey: string | undefined }[] = [];
  readonly webhookEndpoints: FakeWebhookEndpoint[] = [];
  /** Requests refused because their idempotency key was used with other parameters. */
  idempotencyErrors = 0;
  /** The version of endpoints without one of their own. */
  accountApiVersion = FAKE_ACCOUNT_API_VERSION;
  private readonly idempotency = new Map<string, Stored>();
  private server: Server | undefined;
  url = '';

  constructor(
    readonly secretKey: string,
    readonly prices: FakePrice[],
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: { type: 'api_error', message: String(e) } }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private send(res: ServerResponse, status: number, body: unknown): Stored {
    const text = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('request-id', id('req'));
    res.end(text);
    return { status, body: text, params: '' };
  }

  private error(res: ServerResponse, status: number, type: string, message: string, param?: string): Stored {
    return this.send(res, status, { error: { type, message, ...(param ? { param } : {}) } });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const key = req.headers['idempotency-key'] as string | undefined;
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, idempotencyKey: key });

    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      this.error(res, 401, 'invalid_request_error', 'Invalid API Key provided.');
      return;
    }
    if (req.method === 'POST' && key) {
      const seen = this.idempotency.get(key);
      if (seen) {
        if (seen.params !== raw) {
          this.idempotencyErrors += 1;
          this.error(
            res,
            400,
            'idempotency_error',
            'Keys for idempotent requests can only be used with the same parameters they were first used with.',
          );
          return;
        }
        res.statusCode = seen.status;
        res.setHeader('content-type', 'application/json');
        res.setHeader('idempotent-replayed', 'true');
        res.end(seen.body);
        return;
      }
    }
    const stored = this.route(req.method ?? 'GET', url.pathname, parseStripeForm(raw), res);
    if (req.method === 'POST' && key && stored) this.idempotency.set(key, { ...stored, params: raw });
  }

  private route(
    method: string,
    path: string,
    params: Record<string, unknown>,
    res: ServerResponse,
  ): Stored | undefined {
    if (method === 'GET' && path === '/v1/balance') {
      return this.send(res, 200, {
        object: 'balance',
        available: [{ amount: 0, currency: 'usd' }],
        pending: [],
      });
    }
    if (method === 'POST' && path === '/v1/customers') {
      const customer = { id: id('cus'), email: typeof params.email === 'string' ? params.email : null };
      this.customers.set(customer.id, customer);
      return this.send(res, 200, { object: 'customer', ...customer });
    }
    const customerMatch = /^\/v1\/customers\/([\w]+)$/.exec(path);
    if (method === 'GET' && customerMatch) {
      const customer = this.customers.get(customerMatch[1]!);
      if (!customer)
        return this.error(res, 404, 'invalid_request_error', `No such customer: '${customerMatch[1]}'`);
      return this.send(res, 200, { object: 'customer', ...customer });
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') return this.createCheckout(params, res);
    if (method === 'GET' && path === '/v1/webhook_endpoints') {
      const data = this.webhookEndpoints.map(({ secret: _secret, ...e }) => e);
      return this.send(res, 200, { object: 'list', url: '/v1/webhook_endpoints', has_more: false, data });
    }
    if (method === 'POST' && path === '/v1/webhook_endpoints') {
      const events = params.enabled_events as string[] | undefined;
      if (typeof params.url !== 'string' || !Array.isArray(events)) {
        return this.error(res, 400, 'invalid_request_error', 'Missing required param: url.', 'url');
      }
      const endpoint = this.addWebhookEndpoint(
        params.url,
        events,
        typeof params.api_version === 'string' ? params.api_version : null,
      );
      return this.send(res, 200, endpoint);
    }
    const csMatch = /^\/v1\/checkout\/sessions\/([\w]+)$/.exec(path);
    if (method === 'GET' && csMatch) {
      const cs = this.checkoutSessions.get(csMatch[1]!);
      if (!cs)
        return this.error(res, 404, 'invalid_request_error', `No such checkout.session: '${csMatch[1]}'`);
      // An open session past its `expires_at` is expired (and its page no longer takes payments).
      if (cs.status === 'open' && cs.expires_at <= Math.floor(Date.now() / 1000)) cs.status = 'expired';
      return this.send(res, 200, cs);
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      const customer = String(params.customer ?? '');
      if (!this.customers.has(customer)) {
        return this.error(res, 400, 'invalid_request_error', `No such customer: '${customer}'`, 'customer');
      }
      const session = { id: id('bps'), customer, return_url: String(params.return_url ?? ''), url: '' };
      session.url = `${this.url}/p/session/${session.id}`;
      this.portalSessions.push(session);
      return this.send(res, 200, { object: 'billing_portal.session', ...session });
    }
    return this.error(res, 404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  private createCheckout(params: Record<string, unknown>, res: ServerResponse): Stored {
    const mode = params.mode;
    if (mode !== 'payment' && mode !== 'subscription') {
      return this.error(res, 400, 'invalid_request_error', 'Missing required param: mode.', 'mode');
    }
    if (typeof params.success_url !== 'string') {
      return this.error(
        res,
        400,
        'invalid_request_error',
        'Missing required param: success_url.',
        'success_url',
      );
    }
    const items = params.line_items as { price?: string; quantity?: string }[] | undefined;
    const priceId = items?.[0]?.price;
    const price = this.prices.find((p) => p.id === priceId);
    if (!price)
      return this.error(
        res,
        400,
        'invalid_request_error',
        `No such price: '${priceId}'`,
        'line_items[0][price]',
      );
    if (price.recurring !== (mode === 'subscription')) {
      return this.error(
        res,
        400,
        'invalid_request_error',
        `The price ${price.id} cannot be used in ${mode} mode.`,
        'line_items[0][price]',
      );
    }
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = params.expires_at === undefined ? now + 24 * 3600 : Number(params.expires_at);
    if (expiresAt < now + 30 * 60 - 5 || expiresAt > now + 24 * 3600) {
      return this.error(
        res,
        400,
        'invalid_request_error',
        'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.',
        'expires_at',
      );
    }
    const customer = typeof params.customer === 'string' ? params.customer : null;
    if (customer && !this.customers.has(customer)) {
      return this.error(res, 400, 'invalid_request_error', `No such customer: '${customer}'`, 'customer');
    }
    const cs: FakeCheckoutSession = {
      id: id('cs'),
      object: 'checkout.session',
      mode,
      url: '',
      status: 'open',
      payment_status: 'unpaid',
      client_reference_id: typeof params.client_reference_id === 'string' ? params.client_reference_id : null,
      metadata: (params.metadata as Record<string, string> | undefined) ?? {},
      customer,
      subscription: null,
      payment_intent: null,
      amount_total: price.unitAmount * Number(items?.[0]?.quantity ?? 1),
      currency: price.currency,
      expires_at: expiresAt,
      success_url: params.success_url,
      cancel_url: typeof params.cancel_url === 'string' ? params.cancel_url : null,
      price: price.id,
      created: now,
    };
    cs.url = `${this.url}/c/pay/${cs.id}`;
    this.checkoutSessions.set(cs.id, cs);
    return this.send(res, 200, cs);
  }

  /** A webhook endpoint, as made in the Dashboard; events to it are rendered at `apiVersion`. */
  addWebhookEndpoint(
    url: string,
    enabledEvents: string[],
    apiVersion: string | null,
    secret = `whsec_${randomBytes(16).toString('hex')}`,
  ): FakeWebhookEndpoint {
    const endpoint: FakeWebhookEndpoint = {
      id: id('we'),
      object: 'webhook_endpoint',
      url,
      api_version: apiVersion,
      enabled_events: enabledEvents,
      status: 'enabled',
      secret,
    };
    this.webhookEndpoints.push(endpoint);
    return endpoint;
  }

  /** What a person paying on the Checkout page causes: the session completes, paid. */
  complete(checkoutSessionId: string): FakeCheckoutSession {
    const cs = this.checkoutSessions.get(checkoutSessionId);
    if (!cs) throw new Error(`no checkout session ${checkoutSessionId}`);
    if (!cs.customer) {
      const customer = { id: id('cus'), email: 'person@example.com' };
      this.customers.set(customer.id, customer);
      cs.customer = customer.id;
    }
    cs.status = 'complete';
    cs.payment_status = 'paid';
    if (cs.mode === 'subscription') cs.subscription = id('sub');
    else cs.payment_intent = id('pi');
    return cs;
  }

  /** The Checkout Session expires unpaid (its time ran out, or it was expired by the API). */
  expire(checkoutSessionId: string): void {
    const cs = this.checkoutSessions.get(checkoutSessionId);
    if (!cs) throw new Error(`no checkout session ${checkoutSessionId}`);
    cs.status = 'expired';
  }

  /** The session id in a Checkout URL this fake handed out. */
  static sessionIdOf(checkoutUrl: string): string {
    const m = /\/c\/pay\/(cs_test_\w+)$/.exec(checkoutUrl);
    if (!m) throw new Error(`not a fake checkout URL: ${checkoutUrl}`);
    return m[1]!;
  }
}
