import { createHmac, timingSafeEqual } from 'node:crypto';
import type Stripe from 'stripe';
import { SpawnError } from '../errors.js';

/**
 * Verifying and reading Stripe webhook deliveries, used both where a delivery arrives (verify,
 * then parse) and where its event is applied (check again): nothing here touches the database.
 */

/** A signature older or newer than this is refused (replays, and clocks far apart). */
export const STRIPE_SIGNATURE_TOLERANCE_S = 300;

/**
 * The oldest API version whose event shapes SpawnAI reads. From 2025-03-31.basil a subscription's
 * billing period is on its items (`items.data[].current_period_end`) and an invoice names its
 * subscription in `parent.subscription_details`; events are rendered at the webhook endpoint's
 * version (https://docs.stripe.com/webhooks/versioning), so the endpoint must use this or later.
 */
export const STRIPE_MIN_EVENT_API_VERSION = '2025-03-31';

/** Event types SpawnAI acts on; the webhook endpoint should send these. */
export const STRIPE_HANDLED_EVENTS = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'invoice.paid',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'charge.refunded',
] as const;

/** Stripe's objects nest a few levels; anything deeper than this is not an event. */
const MAX_JSON_DEPTH = 64;

export type StripeEventCheck =
  | { readonly ok: true; readonly event: Stripe.Event; readonly handled: boolean }
  | {
      readonly ok: false;
      /** `malformed`: not an event at all; `version` / `shape`: an event SpawnAI cannot read. */
      readonly problem: 'malformed' | 'version' | 'shape';
      readonly reason: string;
      readonly eventId?: string;
      readonly type?: string;
      readonly apiVersion?: string;
    };

/**
 * Checks `Stripe-Signature` (`t=<unix>,v1=<hex>`) over the raw body as Stripe documents it
 * (https://docs.stripe.com/webhooks#verify-manually): HMAC-SHA256 of `t.body` keyed by the whole
 * `whsec_` secret, any `v1` may match. A timestamp more than the tolerance away from now, in the
 * past or in the future, is refused (stripe-node only refuses old ones).
 *
 * @throws SpawnError `ERR_STRIPE_SIGNATURE`.
 */
export function verifyStripeSignature(
  rawBody: Buffer,
  header: string | undefined,
  secret: string,
  nowMs = Date.now(),
): void {
  if (!header) throw new SpawnError('ERR_STRIPE_SIGNATURE', 'Missing Stripe signature.');
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2).map((x) => x.trim());
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) throw new SpawnError('ERR_STRIPE_SIGNATURE');
  if (Math.abs(nowMs / 1000 - timestamp) > STRIPE_SIGNATURE_TOLERANCE_S) {
    throw new SpawnError('ERR_STRIPE_SIGNATURE', 'The Stripe signature is too old or too far in the future.');
  }
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  const matches = signatures.some((hex) => {
    const given = Buffer.from(hex, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new SpawnError('ERR_STRIPE_SIGNATURE');
}

/** How deep `text` nests objects and arrays, stopping early past `limit` (without parsing). */
function depthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a verified delivery's body into an event, or says why it is not one SpawnAI can use. */
export function parseStripeEvent(rawBody: Buffer | string): StripeEventCheck {
  const text = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  if (depthExceeds(text, MAX_JSON_DEPTH)) {
    return { ok: false, problem: 'malformed', reason: `the body nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'malformed', reason: 'the body is not JSON' };
  }
  return checkStripeEvent(value);
}

function apiVersionOlder(version: string): boolean {
  return version.slice(0, 10) < STRIPE_MIN_EVENT_API_VERSION;
}

/** What the object of a handled event must have at STRIPE_MIN_EVENT_API_VERSION or later. */
function shapeProblem(type: string, object: Record<string, unknown>): string | undefined {
  const expect = (kind: string) =>
    object.object === kind && typeof object.id === 'string' ? undefined : `data.object is not a ${kind}`;
  if (type.startsWith('checkout.session.')) return expect('checkout.session');
  if (type === 'charge.refunded') return expect('charge');
  if (type === 'invoice.paid') {
    const problem = expect('invoice');
    if (problem) return problem;
    if (!('parent' in object)) return 'the invoice has no `parent` (its subscription is read from there)';
    const lines = (object.lines as { data?: unknown } | undefined)?.data;
    return Array.isArray(lines) ? undefined : 'the invoice has no `lines.data`';
  }
  if (type.startsWith('customer.subscription.')) {
    const problem = expect('subscription');
    if (problem) return problem;
    const items = (object.items as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(items) || !items.every(isObject)) return 'the subscription has no `items.data`';
    return items.every((i) => typeof i.current_period_end === 'number')
      ? undefined
      : 'the subscription items have no `current_period_end`';
  }
  return undefined;
}

/**
 * Checks an event's envelope (`id`, `type`, `data.object`) and, for the types SpawnAI handles,
 * its API version and the fields it reads. Unhandled types pass with `handled: false`.
 */
export function checkStripeEvent(value: unknown): StripeEventCheck {
  if (!isObject(value)) return { ok: false, problem: 'malformed', reason: 'the body is not an object' };
  const { id, type, data } = value;
  if (typeof id !== 'string' || id === '' || id.length > 255)
    return { ok: false, problem: 'malformed', reason: 'the event has no id' };
  if (typeof type !== 'string' || type === '')
    return { ok: false, problem: 'malformed', reason: 'the event has no type', eventId: id };
  if (!isObject(data) || !isObject(data.object)) {
    return { ok: false, problem: 'malformed', reason: 'the event has no data.object', eventId: id, type };
  }
  const handled = (STRIPE_HANDLED_EVENTS as readonly string[]).includes(type);
  if (!handled) return { ok: true, event: value as unknown as Stripe.Event, handled };
  const apiVersion = typeof value.api_version === 'string' ? value.api_version : undefined;
  if (!apiVersion || apiVersionOlder(apiVersion)) {
    return {
      ok: false,
      problem: 'version',
      reason: `the event is rendered at Stripe API version ${apiVersion ?? '(none)'}; SpawnAI reads ${STRIPE_MIN_EVENT_API_VERSION} or later: set the webhook endpoint's API version to ${STRIPE_MIN_EVENT_API_VERSION} or later`,
      eventId: id,
      type,
      ...(apiVersion ? { apiVersion } : {}),
    };
  }
  const problem = shapeProblem(type, data.object);
  if (problem) {
    return { ok: false, problem: 'shape', reason: `${type}: ${problem}`, eventId: id, type, apiVersion };
  }
  return { ok: true, event: value as unknown as Stripe.Event, handled };
}

/** The answer to a delivery whose event cannot be used: 400, and why (Stripe shows it to the operator). */
export function stripeEventRefusal(check: Extract<StripeEventCheck, { ok: false }>): SpawnError {
  return new SpawnError('ERR_STRIPE_EVENT', `Stripe event refused: ${check.reason}.`);
}
