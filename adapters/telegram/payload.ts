import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PurchaseKind } from '../../src/billing/signed-link.js';
import { SESSION_ID_PATTERN } from '../../src/spawn/ids.js';

/** How long an invoice may be paid after it was sent; an older one is refused at pre-checkout. */
export const TELEGRAM_INVOICE_TTL_MS = 24 * 3600 * 1000;
/** Telegram's limit on an invoice payload. */
export const INVOICE_PAYLOAD_MAX_BYTES = 128;

const KIND_CODE: Record<PurchaseKind, string> = { pro: 'p', team: 't', credits: 'c', extend: 'e' };
const CODE_KIND = Object.fromEntries(Object.entries(KIND_CODE).map(([k, v]) => [v, k])) as Record<
  string,
  PurchaseKind
>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_BYTES = 16;

/** What an invoice sells, to whom. */
export interface StarsOrder {
  readonly kind: PurchaseKind;
  readonly userId: string;
  readonly sessionId?: string;
  /** Unix ms after which the invoice is refused. */
  readonly expiresAt: number;
}

/**
 * Invoice payloads: `v1.<kind>.<user uuid hex>.<session>.<expiry base36>.<mac>`, about 90
 * bytes. Signed with a key derived from the bot token, so only this bot's invoices verify
 * and nobody can change what is bought or for whom.
 */
export class InvoicePayloads {
  private readonly key: Buffer;

  constructor(botToken: string) {
    this.key = createHmac('sha256', botToken).update('spawnai-telegram-invoice-v1').digest();
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
  }

  sign(order: StarsOrder): string {
    const body = [
      'v1',
      KIND_CODE[order.kind],
      order.userId.replace(/-/g, ''),
      order.sessionId ?? '',
      Math.floor(order.expiresAt).toString(36),
    ].join('.');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /** The order of a payload this bot signed, or undefined (expiry is the caller's check). */
  verify(payload: string): StarsOrder | undefined {
    if (Buffer.byteLength(payload) > INVOICE_PAYLOAD_MAX_BYTES) return undefined;
    const parts = payload.split('.');
    if (parts.length !== 6 || parts[0] !== 'v1') return undefined;
    const [, code = '', hex = '', sessionId = '', expiry = '', mac = ''] = parts;
    const body = parts.slice(0, 5).join('.');
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const kind = CODE_KIND[code];
    const userId = /^[0-9a-f]{32}$/.test(hex)
      ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
      : '';
    const expiresAt = Number.parseInt(expiry, 36);
    if (!kind || !UUID.test(userId) || !Number.isFinite(expiresAt)) return undefined;
    if (sessionId !== '' && !SESSION_ID_PATTERN.test(sessionId)) return undefined;
    return { kind, userId, ...(sessionId ? { sessionId } : {}), expiresAt };
  }
}
