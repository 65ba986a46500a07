import { createHash, timingSafeEqual } from 'node:crypto';
import type { Update } from 'grammy/types';
import { SpawnError } from '../../src/errors.js';

/** The header Telegram sends the webhook's `secret_token` in. */
export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** Whether the delivery carries our secret token (compared in constant time). */
export function verifySecret(header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string' || header.length === 0 || header.length > 256) return false;
  // Hashing first gives equal lengths, so the comparison says nothing about the secret's length.
  const given = createHash('sha256').update(header).digest();
  const expected = createHash('sha256').update(secret).digest();
  return timingSafeEqual(given, expected);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validMessage(v: unknown): boolean {
  return (
    isObject(v) &&
    Number.isSafeInteger(v.message_id) &&
    isObject(v.chat) &&
    Number.isSafeInteger(v.chat.id) &&
    typeof v.chat.type === 'string' &&
    (v.from === undefined || (isObject(v.from) && Number.isSafeInteger(v.from.id)))
  );
}

/**
 * The shape checks an update must pass before any handler sees it: an object with a
 * non-negative integer `update_id`, and well-formed message, callback and pre-checkout parts.
 */
export function parseUpdate(body: unknown): Update {
  const bad = (what: string) => new SpawnError('ERR_BAD_REQUEST', `Not a Telegram update: ${what}.`);
  if (!isObject(body)) throw bad('the body is not a JSON object');
  const id = body.update_id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw bad('no valid update_id');
  if (body.message !== undefined && !validMessage(body.message)) throw bad('a malformed message');
  const q = body.callback_query;
  if (
    q !== undefined &&
    !(isObject(q) && typeof q.id === 'string' && isObject(q.from) && Number.isSafeInteger(q.from.id))
  )
    throw bad('a malformed callback_query');
  const p = body.pre_checkout_query;
  if (
    p !== undefined &&
    !(
      isObject(p) &&
      typeof p.id === 'string' &&
      isObject(p.from) &&
      Number.isSafeInteger(p.from.id) &&
      typeof p.invoice_payload === 'string' &&
      typeof p.currency === 'string' &&
      Number.isSafeInteger(p.total_amount)
    )
  )
    throw bad('a malformed pre_checkout_query');
  return body as unknown as Update;
}
