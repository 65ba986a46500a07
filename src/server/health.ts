import type { FastifyInstance } from 'fastify';
import type { LinkStatus } from '../connections/supervisor.js';
import { withTimeout } from '../util/time.js';

/** A dependency `/ready` checks; rejects when it does not answer. */
export type ReadinessCheck = () => Promise<void>;

/** The platform connections a process holds (empty without the bot role). */
export type PlatformLinks = () => readonly LinkStatus[];

const CHECK_TIMEOUT_MS = 2000;

/**
 * `/ready` is 503 only when Postgres or Redis does not answer: without them nothing works. A
 * platform connection that is down (Discord's gateway in an outage) makes it `degraded` with
 * HTTP 200, so a load balancer keeps the web chat, the webhooks and the other platforms in
 * service while that one is retried.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  checks: Readonly<Record<string, ReadinessCheck>>,
  platformLinks: PlatformLinks = () => [],
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
    const links = platformLinks();
    const down = links.filter((l) => l.state !== 'connected').map((l) => l.platform);
    const body = {
      status: failing.length > 0 ? 'unavailable' : down.length > 0 ? 'degraded' : 'ok',
      checks: Object.fromEntries(results),
      ...(links.length > 0
        ? { platforms: Object.fromEntries(links.map(({ platform, ...status }) => [platform, status])) }
        : {}),
      ...(failing.length > 0
        ? { message: `${failing.join(' and ')} not answering` }
        : down.length > 0
          ? { message: `${down.join(' and ')} not connected; everything else works` }
          : {}),
    };
    return reply.status(failing.length === 0 ? 200 : 503).send(body);
  });
}
