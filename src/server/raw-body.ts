import type { FastifyInstance } from 'fastify';
import { SpawnError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received; signature checks (Slack, Stripe, Discord) need these bytes. */
    rawBody?: Buffer;
  }
}

/**
 * JSON and form bodies are read as bytes, kept on `request.rawBody`, then parsed.
 * A malformed body is a 400 with a stable error code; nothing downstream runs.
 */
export function registerRawBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch {
      done(new SpawnError('ERR_BAD_REQUEST', 'The body is not valid JSON.'), undefined);
    }
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer' },
    (req, body: Buffer, done) => {
      req.rawBody = body;
      done(null, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    },
  );
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    done(null, body.toString('utf8'));
  });
}
