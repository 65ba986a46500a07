import { createHmac } from 'node:crypto';

/** Signs a payload as Stripe does: `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload" keyed by the whole whsec_ secret>`. */
export function stripeSignature(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

let seq = 0;

/** An event envelope as Stripe sends it. */
export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  id?: string,
): Record<string, unknown> {
  seq++;
  return {
    id: id ?? `evt_test_${Date.now().toString(36)}${seq}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    type,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  };
}

export interface PushOptions {
  secret: string;
  /** Signing time (stale tests); default now. */
  timestamp?: number;
  /** Send this body instead of the signed one (a re-serialised or tampered body). */
  bodyOverride?: string;
  /** Replace the signature header. */
  signature?: string;
}

/** Delivers an event to a webhook URL the way Stripe does; returns the HTTP status. */
export async function pushEvent(
  url: string,
  event: Record<string, unknown>,
  options: PushOptions,
): Promise<Response> {
  const payload = JSON.stringify(event, null, 2); // Stripe pretty-prints; a re-serialisation differs
  const signature = options.signature ?? stripeSignature(payload, options.secret, options.timestamp);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': signature,
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    },
    body: options.bodyOverride ?? payload,
  });
}
