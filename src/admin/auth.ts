import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const ADMIN_COOKIE = 'spawnai_admin';
/** How long one sign-in lasts. */
export const ADMIN_SESSION_MS = 12 * 3600 * 1000;
const SESSION = /^([A-Za-z0-9_-]{22})\.(\d{10,13})\.([A-Za-z0-9_-]{43})$/;

/**
 * ADMIN_TOKEN checks in constant time whatever the guess: both sides are reduced to an HMAC
 * of fixed length before the comparison, so neither content nor length leaks through timing.
 * A sign-in gets a session of its own: a random id and its expiry, signed with the key, so
 * every web process accepts it, no two sign-ins share a cookie, and a copied one expires.
 */
export class AdminAuth {
  private readonly expected: Buffer;

  constructor(
    token: string,
    private readonly key: string,
    private readonly now: () => number = Date.now,
  ) {
    this.expected = this.digest(`token:${token}`);
  }

  private digest(value: string): Buffer {
    return createHmac('sha256', this.key).update(value).digest();
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(this.digest(`token:${candidate}`), this.expected);
  }

  /** A new session value: `<random id>.<expiry ms>.<MAC>`; never the token, never twice the same. */
  newSession(): string {
    const id = randomBytes(16).toString('base64url');
    const expires = this.now() + ADMIN_SESSION_MS;
    return `${id}.${expires}.${this.digest(`session:${id}.${expires}`).toString('base64url')}`;
  }

  /** Whether `value` is a session this key signed, still within its time. */
  sessionValid(value: string): boolean {
    const match = SESSION.exec(value);
    if (!match) return false;
    const [, id, expires, mac] = match;
    const expected = this.digest(`session:${id}.${expires}`);
    const given = Buffer.from(mac!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    return Number(expires) > this.now();
  }

  /** A bearer token, or a live sign-in cookie. */
  allowed(request: FastifyRequest): boolean {
    const header = request.headers.authorization;
    if (typeof header === 'string' && header.startsWith('Bearer ')) return this.matches(header.slice(7));
    const cookie = request.cookies?.[ADMIN_COOKIE];
    return typeof cookie === 'string' && this.sessionValid(cookie);
  }

  /** Host-only (no Domain), HttpOnly, SameSite=Strict, under /admin, for as long as the session lasts. */
  setSession(reply: FastifyReply, secure: boolean): void {
    reply.setCookie(ADMIN_COOKIE, this.newSession(), {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/admin',
      maxAge: ADMIN_SESSION_MS / 1000,
    });
  }
}
