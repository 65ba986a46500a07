import type { FastifyError, FastifyInstance } from 'fastify';
import { isSpawnError } from '../errors.js';

/** One JSON error shape for every route: `{ error: { code, message } }`. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isSpawnError(err)) {
      if (err.retryAfterMs) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
      return reply.status(err.status).send({ error: { code: err.code, message: err.userMessage } });
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const code =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'ERR_BODY_TOO_LARGE'
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'ERR_UNSUPPORTED_MEDIA_TYPE'
          : status === 429
            ? 'ERR_RATE_LIMITED'
            : status >= 500
              ? 'ERR_INTERNAL'
              : 'ERR_BAD_REQUEST';
    const message = status >= 500 ? 'Something went wrong on our side.' : err.message;
    return reply.status(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send({ error: { code: 'ERR_NOT_FOUND', message: 'Not found.' } }),
  );
}
