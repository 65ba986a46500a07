import { STRIPE_HANDLED_EVENTS, STRIPE_MIN_EVENT_API_VERSION } from '../billing/stripe-event.js';
import type { Config } from '../config/index.js';
import type { CheckResult } from './types.js';

const TIMEOUT_MS = 5000;

interface WebhookEndpoint {
  id: string;
  url: string;
  api_version: string | null;
  enabled_events: string[];
  status: string;
}

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]';
}

/**
 * Stripe: the secret key works, and a webhook endpoint sends `PUBLIC_URL/stripe/webhook` the
 * events SpawnAI handles at an API version it reads. Stripe renders each event at the endpoint's
 * version, or the account's default when the endpoint has none
 * (https://docs.stripe.com/webhooks/versioning), which the doctor cannot see.
 */
export async function probeStripe(config: Config, fetchImpl: typeof fetch): Promise<CheckResult> {
  const base = config.STRIPE_API_URL.replace(/\/+$/, '');
  const host = new URL(base).host;
  const headers = { authorization: `Bearer ${config.STRIPE_SECRET_KEY}` };
  let endpoints: WebhookEndpoint[];
  try {
    const balance = await fetchImpl(`${base}/v1/balance`, {
      headers,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (balance.status === 401 || balance.status === 403) {
      return {
        name: 'stripe',
        state: 'rejected',
        detail: `credentials rejected by ${host} (HTTP ${balance.status})`,
      };
    }
    if (balance.status !== 200)
      return { name: 'stripe', state: 'unreachable', detail: `${host} answered HTTP ${balance.status}` };
    const list = await fetchImpl(`${base}/v1/webhook_endpoints?limit=100`, {
      headers,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (list.status !== 200) {
      return {
        name: 'stripe',
        state: 'unreachable',
        detail: `${host} answered HTTP ${list.status} listing webhook endpoints (the key needs read access to them)`,
      };
    }
    endpoints = ((await list.json()) as { data?: WebhookEndpoint[] }).data ?? [];
  } catch (e) {
    return {
      name: 'stripe',
      state: 'unreachable',
      detail: `${host}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const url = `${config.PUBLIC_URL}/stripe/webhook`;
  const endpoint = endpoints.find((e) => e.url === url && e.status === 'enabled');
  const needed = `API version ${STRIPE_MIN_EVENT_API_VERSION} or later and the events ${STRIPE_HANDLED_EVENTS.join(', ')}`;
  if (!endpoint) {
    if (isLocal(url)) {
      return {
        name: 'stripe',
        state: 'ok',
        detail: `credentials accepted by ${host}; PUBLIC_URL is local, so Stripe cannot reach ${url}: forward events to it at ${needed}`,
      };
    }
    return {
      name: 'stripe',
      state: 'incomplete',
      detail: `no enabled webhook endpoint for ${url}: add one with ${needed}`,
    };
  }
  if (!endpoint.api_version) {
    return {
      name: 'stripe',
      state: 'incomplete',
      detail: `webhook endpoint ${endpoint.id} uses the account's default API version: set its version explicitly to ${STRIPE_MIN_EVENT_API_VERSION} or later (events of older versions are refused)`,
    };
  }
  if (endpoint.api_version.slice(0, 10) < STRIPE_MIN_EVENT_API_VERSION) {
    return {
      name: 'stripe',
      state: 'incomplete',
      detail: `webhook endpoint ${endpoint.id} renders events at API version ${endpoint.api_version}; SpawnAI reads ${STRIPE_MIN_EVENT_API_VERSION} or later and refuses the others: make an endpoint with a newer version`,
    };
  }
  const missing = endpoint.enabled_events.includes('*')
    ? []
    : STRIPE_HANDLED_EVENTS.filter((e) => !endpoint.enabled_events.includes(e));
  if (missing.length > 0) {
    return {
      name: 'stripe',
      state: 'incomplete',
      detail: `webhook endpoint ${endpoint.id} does not send ${missing.join(', ')}`,
    };
  }
  return {
    name: 'stripe',
    state: 'ok',
    detail: `credentials accepted by ${host}; webhook endpoint ${url} at API version ${endpoint.api_version}`,
  };
}
