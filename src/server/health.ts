import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../util/time.js';

/** A dependency `/ready` checks; rejects when it does not answer. */
export type ReadinessCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2000;

export function registerHealthRoutes(
  app: FastifyInstance,
  checks: Readonly<Record<string, ReadinessCheck>>,
): void {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    const names = Object.keys(checks);
    const results = await Promise.all(
      names.map(async (name) => {
        try {
          await withTimeout(
            checks[name]!(),
            CHECK_TIMEOUT_MS,
            () => new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`),
          );
          return [name, 'ok'] as const;
        } catch (e) {
          return [name, `unavailable: ${e instanceof Error ? e.message : String(e)}`] as const;
        }
      }),
    );
    const failing = results.filter(([, r]) => r !== 'ok').map(([n]) => n);
    const body = {
      status: failing.length === 0 ? 'ok' : 'unavailable',
      checks: Object.fromEntries(results),
      ...(failing.length > 0 ? { message: `${failing.join(' and ')} not answering` } : {}),
    };
    return reply.status(failing.length === 0 ? 200 : 503).send(body);
  });
}
