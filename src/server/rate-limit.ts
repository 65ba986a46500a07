import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { SpawnError } from '../errors.js';
import type { Redis } from '../redis/connection.js';

/** Probes and scrapes are never limited. */
const UNLIMITED = new Set(['/health', '/ready', '/metrics']);

/**
 * Per-IP limits on every public route registered after this, counted in Redis so all web
 * processes share them. A limited client gets 429 with Retry-After and says when to retry.
 */
export async function registerIpRateLimit(
  app: FastifyInstance,
  redis: Redis,
  options: { perMinute: number; prefix: string },
): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: 60_000,
    redis,
    nameSpace: `${options.prefix}:rl-ip:`,
    skipOnError: true, // Redis trouble must not take the webhooks down
    allowList: (request) => UNLIMITED.has(request.url.split('?')[0] ?? ''),
    // Thrown by the plugin; our error handler turns it into the usual `{ error: { code, message } }`.
    errorResponseBuilder: (_request, context) =>
      new SpawnError(
        'ERR_RATE_LIMITED',
        `Too many requests from your address; try again in ${Math.ceil(context.ttl / 1000)} s.`,
        { retryAfterMs: context.ttl },
      ),
  });
}
