import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import { instrumentHttp } from '../metrics/instrument.js';
import type { Metrics } from '../metrics/metrics.js';
import { registerErrorHandler } from './errors.js';
import { FastPaths } from './fast-path.js';
import { type PlatformLinks, type ReadinessCheck, registerHealthRoutes } from './health.js';
import { registerRawBodyParsers } from './raw-body.js';

export interface ServerOptions {
  logger: Logger;
  bodyLimit: number;
  trustProxy: boolean;
  readiness: Readonly<Record<string, ReadinessCheck>>;
  /** The platform connections of this process, shown by `/ready` without failing it. */
  platformLinks?: PlatformLinks;
  /** Request latency histograms and `GET /metrics`. */
  metrics?: Metrics;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

/** Compares in constant time whatever the guess: both sides are hashed to one length first. */
function bearerCheck(token: string): (header: string | undefined) => boolean {
  const digest = (v: string) => createHash('sha256').update(v).digest();
  const expected = digest(`Bearer ${token}`);
  return (header) => timingSafeEqual(digest(header ?? ''), expected);
}

/** Incoming request ids are kept when they look like ids; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The Fastify app every HTTP surface mounts on: webhooks, web chat, health, metrics, admin.
 * Routes are added by the composition root before `listen`.
 */
export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const fastPaths = new FastPaths(options.metrics);
  const app = Fastify({
    serverFactory: (handler) =>
      createHttpServer((req, res) => {
        if (!fastPaths.serve(req, res)) handler(req, res);
      }),
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.decorate('fastPaths', fastPaths);
  app.addHook('preClose', async () => fastPaths.close());
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
    },
    // Preview links open apps on other origins (ports); do not isolate the opener.
    crossOriginOpenerPolicy: false,
  });
  registerRawBodyParsers(app);
  registerErrorHandler(app);
  registerHealthRoutes(app, options.readiness, options.platformLinks);
  const metrics = options.metrics;
  if (metrics) {
    instrumentHttp(app, metrics);
    const allowed = options.metricsToken ? bearerCheck(options.metricsToken) : () => true;
    app.get('/metrics', async (request, reply) => {
      if (!allowed(request.headers.authorization)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({
            error: { code: 'ERR_UNAUTHORIZED', message: 'metrics need the METRICS_TOKEN bearer token' },
          });
      }
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    });
  }
  return app;
}
