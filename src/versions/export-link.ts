import { createHmac, timingSafeEqual } from 'node:crypto';
import { MINUTE_MS } from '../util/time.js';

/** What an export link downloads: one version of one app. */
export interface ExportTarget {
  readonly sessionId: string;
  readonly version: number;
}

/** Long enough to open on another device, short enough that a forwarded link soon stops working. */
export const EXPORT_LINK_TTL_MS = 60 * MINUTE_MS;

/**
 * Signed, expiring links to `/export/<token>` (the mechanism of the billing checkout links, with
 * a purpose of its own in the MAC so one kind of token is never accepted as the other). The
 * person asking must own the app; the link then works without a login, until it expires.
 */
export class ExportLinks {
  constructor(
    private readonly secret: string,
    private readonly publicUrl: string,
    private readonly ttlMs = EXPORT_LINK_TTL_MS,
  ) {}

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`export:${payload}`).digest('base64url');
  }

  create(target: ExportTarget, now = Date.now()): { url: string; expiresAt: Date } {
    const expiresAt = now + this.ttlMs;
    const payload = Buffer.from(
      JSON.stringify({ s: target.sessionId, v: target.version, e: expiresAt }),
    ).toString('base64url');
    return {
      url: `${this.publicUrl}/export/${payload}.${this.sign(payload)}`,
      expiresAt: new Date(expiresAt),
    };
  }

  /** The target of a valid, unexpired token; undefined otherwise. */
  verify(token: string, now = Date.now()): ExportTarget | undefined {
    const [payload, mac, ...rest] = token.split('.');
    if (!payload || !mac || rest.length > 0) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        s?: unknown;
        v?: unknown;
        e?: unknown;
      };
      if (typeof data.s !== 'string' || typeof data.e !== 'number' || data.e < now) return undefined;
      if (typeof data.v !== 'number' || !Number.isInteger(data.v) || data.v < 1) return undefined;
      return { sessionId: data.s, version: data.v };
    } catch {
      return undefined;
    }
  }
}
