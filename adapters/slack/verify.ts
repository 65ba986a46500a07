import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import { SpawnError } from '../../src/errors.js';

/**
 * Slack's signing rules (v0 HMAC-SHA256 over `v0:<timestamp>:<raw body>`), checked without
 * the SDK so the webhook path stays small and testable. This module imports no platform SDK.
 */

/** Requests signed longer ago than this are refused (Bolt's window); so are ones this far ahead. */
export const SLACK_SIGNATURE_MAX_AGE_S = 5 * 60;

/** The only form content type Bolt accepts (it compares with `===`). */
export const SLACK_FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export interface SignedRequest {
  readonly signingSecret: string;
  /** `X-Slack-Request-Timestamp`. */
  readonly timestamp: string | undefined;
  /** `X-Slack-Signature`. */
  readonly signature: string | undefined;
  /** The body bytes exactly as received. */
  readonly rawBody: Buffer;
  readonly nowMs?: number;
}

/** `v0=<hex>` for a body: what Slack sends in `X-Slack-Signature`. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

function refuse(reason: string): never {
  // The reason is for logs and the 401 body; it never contains the secret or the expected value.
  throw new SpawnError('ERR_SLACK_SIGNATURE', `Invalid Slack signature: ${reason}.`);
}

/** Throws ERR_SLACK_SIGNATURE (401) unless the request was signed by Slack with our secret, recently. */
export function verifySlackSignature(request: SignedRequest): void {
  const { timestamp, signature } = request;
  if (!timestamp || !signature) refuse('the signature headers are missing');
  if (!/^\d{1,12}$/.test(timestamp)) refuse('the timestamp is not a Unix time');
  const ageS = Math.floor((request.nowMs ?? Date.now()) / 1000) - Number(timestamp);
  if (Math.abs(ageS) > SLACK_SIGNATURE_MAX_AGE_S) refuse('the timestamp is outside the 5-minute window');
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) refuse('unsupported signature version or format');
  const expected = Buffer.from(slackSignature(request.signingSecret, timestamp, request.rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    refuse('the signature does not match');
}

/** A verified body as Slack sent it: JSON (Events API) or a form (commands, interactivity). */
export type SlackBody =
  | { readonly format: 'json'; readonly body: Record<string, unknown> }
  | { readonly format: 'form'; readonly body: Record<string, unknown> };

function bad(message: string): never {
  throw new SpawnError('ERR_BAD_REQUEST', message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A form body as `Object.fromEntries(new URLSearchParams(text))` reads it (`+` is a space, the
 * last of repeated fields wins, `__proto__` is a field like any other), three times faster:
 * this runs on every slash command and button press (bench:ingest's profile had
 * URLSearchParams as the largest cost of our own code on the request path).
 */
export function parseForm(text: string): Record<string, string> {
  const fields = parseQuery(text, '&', '=', { maxKeys: 0 });
  const form: Record<string, string> = {};
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    const value = Array.isArray(v) ? (v.at(-1) ?? '') : (v ?? '');
    // An own field, never the object's prototype.
    if (key === '__proto__')
      Object.defineProperty(form, key, { value, enumerable: true, writable: true, configurable: true });
    else form[key] = value;
  }
  return form;
}

/**
 * Parses a verified body by its content type, as Bolt does: forms must say exactly
 * `application/x-www-form-urlencoded` (no charset), and their `payload` field (interactivity)
 * holds JSON; everything else must be a JSON object sent as `application/json`.
 * Throws ERR_BAD_REQUEST (400) otherwise.
 */
export function parseSlackBody(contentType: string | undefined, rawBody: Buffer): SlackBody {
  const type = (contentType ?? '').trim();
  const media = type.split(';')[0]!.trim().toLowerCase();
  if (media === SLACK_FORM_CONTENT_TYPE) {
    if (type !== SLACK_FORM_CONTENT_TYPE) {
      bad(`Slack sends forms as exactly ${SLACK_FORM_CONTENT_TYPE}, without parameters.`);
    }
    const form = parseForm(rawBody.toString('utf8'));
    if (typeof form.payload === 'string') {
      let payload: unknown;
      try {
        payload = JSON.parse(form.payload);
      } catch {
        bad('The payload field is not valid JSON.');
      }
      if (!isRecord(payload)) bad('The payload field is not a JSON object.');
      return { format: 'form', body: payload };
    }
    return { format: 'form', body: form };
  }
  if (media === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      bad('The body is not valid JSON.');
    }
    if (!isRecord(body)) bad('The body is not a JSON object.');
    return { format: 'json', body };
  }
  return bad('Slack requests are application/json (events) or application/x-www-form-urlencoded.');
}
