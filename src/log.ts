import { type Logger, type LoggerOptions, pino } from 'pino';
import { currentCorrelationId } from './util/correlation.js';

export type { Logger } from 'pino';

/** Paths pino blanks out on every line: credentials in headers, bodies and our own objects. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
  'req.headers["x-signature-ed25519"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'req.headers["stripe-signature"]',
  'req.headers["x-api-key"]',
  'req.headers["x-admin-token"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.botToken',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.signingSecret',
  '*.authorization',
  '*.accessToken',
  '*.access_token',
  '*.bundleUrl',
  '*.signedUrl',
];

export function createLogger(level: LoggerOptions['level'] = 'info', options: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, service: 'spawnai' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every line written while handling one request or job names its platform event id.
    mixin: () => {
      const correlationId = currentCorrelationId();
      return correlationId ? { correlationId } : {};
    },
    ...options,
  });
}

/** A logger that drops everything, for tests and tools that must stay quiet. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
