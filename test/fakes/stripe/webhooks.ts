import { pushEvent, stripeEvent } from './events.js';

/** The version the fake account defaults to (the one stripe-node 23 pins). */
export const FAKE_ACCOUNT_API_VERSION = '2026-10-28.endive';

/**
 * A webhook endpoint. "Webhook endpoints either have a specific API version set or use the
 * default API version of the Stripe account", and events sent to one are rendered at that
 * version (https://docs.stripe.com/webhooks/versioning).
 */
export interface FakeWebhookEndpoint {
  id: string;
  object: 'webhook_endpoint';
  url: string;
  /** null: the account's default version. */
  api_version: string | null;
  enabled_events: string[];
  status: 'enabled' | 'disabled';
  secret: string;
}

const BASIL = '2025-03-31';

function before(version: string, date: string): boolean {
  return version.slice(0, 10) < date;
}

/**
 * An object as an event of `apiVersion` carries it. The fake's objects are written in the current
 * shape; older versions move fields back where they were:
 * - before 2025-03-31.basil a subscription's billing period is top-level `current_period_start`
 *   / `current_period_end`, not on its items
 *   (https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end);
 * - before 2025-03-31.basil an invoice names its subscription in top-level `subscription`, and
 *   has no `parent` (https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects).
 */
export function renderAtVersion(
  object: Record<string, unknown>,
  apiVersion: string,
): Record<string, unknown> {
  const out = structuredClone(object);
  if (!before(apiVersion, BASIL)) return out;
  if (out.object === 'subscription') {
    const items = (out.items as { data?: Record<string, unknown>[] } | undefined)?.data ?? [];
    const first = items[0];
    if (first) {
      out.current_period_start = first.current_period_start ?? null;
      out.current_period_end = first.current_period_end ?? null;
    }
    for (const item of items) {
      delete item.current_period_start;
      delete item.current_period_end;
    }
  }
  if (out.object === 'invoice') {
    const parent = out.parent as { subscription_details?: { subscription?: unknown } } | null | undefined;
    out.subscription = parent?.subscription_details?.subscription ?? null;
    delete out.parent;
  }
  return out;
}

/** An event as `endpoint` receives it: rendered at its version (or the account's default). */
export function eventFor(
  endpoint: FakeWebhookEndpoint,
  type: string,
  object: Record<string, unknown>,
  accountVersion = FAKE_ACCOUNT_API_VERSION,
): Record<string, unknown> {
  const version = endpoint.api_version ?? accountVersion;
  return { ...stripeEvent(type, renderAtVersion(object, version)), api_version: version };
}

/** Delivers an event to the endpoint the way Stripe does (signed with its secret). */
export function deliver(
  endpoint: FakeWebhookEndpoint,
  type: string,
  object: Record<string, unknown>,
  accountVersion = FAKE_ACCOUNT_API_VERSION,
): Promise<Response> {
  return pushEvent(endpoint.url, eventFor(endpoint, type, object, accountVersion), {
    secret: endpoint.secret,
  });
}
