import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a checkout link buys, for whom. */
export interface CheckoutIntent {
  readonly userId: string;
  readonly kind: PurchaseKind;
  readonly sessionId?: string;
}

export type PurchaseKind = 'pro' | 'team' | 'credits' | 'extend';
export const PURCHASE_KINDS: readonly PurchaseKind[] = ['pro', 'team', 'credits', 'extend'];

const LINK_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * A link to `/billing/checkout` that creates the Stripe Checkout Session when clicked, so a
 * status card can carry an Upgrade button without a Stripe call on every edit. Signed, so
 * nobody can buy for someone else or change what is bought; it expires after a week.
 */
export class CheckoutLinks {
  constructor(
    private readonly secret: string,
    private readonly publicUrl: string,
  ) {}

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`checkout:${payload}`).digest('base64url');
  }

  url(intent: CheckoutIntent, now = Date.now()): string {
    const payload = Buffer.from(
      JSON.stringify({ u: intent.userId, k: intent.kind, s: intent.sessionId, e: now + LINK_TTL_MS }),
    ).toString('base64url');
    return `${this.publicUrl}/billing/checkout?t=${payload}.${this.sign(payload)}`;
  }

  /** The intent of a valid, unexpired token; undefined otherwise. */
  verify(token: string, now = Date.now()): CheckoutIntent | undefined {
    const [payload, mac] = token.split('.');
    if (!payload || !mac) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        u?: unknown;
        k?: unknown;
        s?: unknown;
        e?: unknown;
      };
      if (typeof data.u !== 'string' || typeof data.e !== 'number' || data.e < now) return undefined;
      if (!PURCHASE_KINDS.includes(data.k as PurchaseKind)) return undefined;
      return {
        userId: data.u,
        kind: data.k as PurchaseKind,
        ...(typeof data.s === 'string' ? { sessionId: data.s } : {}),
      };
    } catch {
      return undefined;
    }
  }
}
