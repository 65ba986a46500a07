import { randomBytes } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const WEB_COOKIE = 'spawnai_uid';
const UID = /^[A-Za-z0-9_-]{16,64}$/;
const ONE_YEAR_S = 365 * 24 * 3600;

/**
 * The anonymous web identity: a random id in a signed, HTTP-only, same-site cookie.
 * A missing or forged cookie gets a fresh id.
 */
export function webUserId(request: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  const raw = request.cookies[WEB_COOKIE];
  if (raw) {
    const unsigned = request.unsignCookie(raw);
    if (unsigned.valid && unsigned.value && UID.test(unsigned.value)) return unsigned.value;
  }
  const uid = randomBytes(18).toString('base64url');
  reply.setCookie(WEB_COOKIE, uid, {
    signed: true,
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    maxAge: ONE_YEAR_S,
  });
  return uid;
}

/** The existing identity only (no cookie is set): for streams and reads. */
export function existingWebUserId(request: FastifyRequest): string | undefined {
  const raw = request.cookies[WEB_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid && unsigned.value && UID.test(unsigned.value) ? unsigned.value : undefined;
}
