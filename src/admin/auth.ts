import { createHmac, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const ADMIN_COOKIE = 'spawnai_admin';

/**
 * ADMIN_TOKEN checks in constant time whatever the guess: both sides are reduced to an HMAC
 * of fixed length before the comparison, so neither content nor length leaks through timing.
 */
export class AdminAuth {
  private readonly expected: Buffer;

  constructor(
    private readonly token: string,
    private readonly key: string,
  ) {
    this.expected = this.digest(token);
  }

  private digest(value: string): Buffer {
    return createHmac('sha256', this.key).update(value).digest();
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(this.digest(candidate), this.expected);
  }

  /** The cookie value after a login: a MAC of the token, never the token itself. */
  session(): string {
    return createHmac('sha256', this.key).update(`admin-session:${this.token}`).digest('base64url');
  }

  private sessionMatches(value: string): boolean {
    return timingSafeEqual(this.digest(`session:${value}`), this.digest(`session:${this.session()}`));
  }

  /** A bearer token, or the login cookie. */
  allowed(request: FastifyRequest): boolean {
    const header = request.headers.authorization;
    if (typeof header === 'string' && header.startsWith('Bearer ')) return this.matches(header.slice(7));
    const cookie = request.cookies?.[ADMIN_COOKIE];
    return typeof cookie === 'string' && this.sessionMatches(cookie);
  }

  setSession(reply: FastifyReply, secure: boolean): void {
    reply.setCookie(ADMIN_COOKIE, this.session(), {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/admin',
      maxAge: 12 * 3600,
    });
  }
}
