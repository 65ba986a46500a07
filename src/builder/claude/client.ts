import Anthropic from '@anthropic-ai/sdk';
import type { Logger } from '../../log.js';

export interface ClientOptions {
  readonly apiKey: string;
  /** Default https://api.anthropic.com (ANTHROPIC_BASE_URL). */
  readonly baseURL?: string;
  /** Timeout of one request until its response starts (ANTHROPIC_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** The SDK's retries of 429, 529, 5xx and connection errors, honouring retry-after. */
  readonly maxRetries: number;
  readonly logger: Logger;
  /** Only for the doctor's probe, which is handed a fetch. */
  readonly fetch?: typeof fetch;
}

type LogFn = (message: string, ...rest: unknown[]) => void;

/** The SDK logs through console by default; send it to pino, without its argument objects. */
function sdkLogger(logger: Logger): { error: LogFn; warn: LogFn; info: LogFn; debug: LogFn } {
  return {
    error: (message) => logger.error({ sdk: 'anthropic' }, String(message)),
    warn: (message) => logger.warn({ sdk: 'anthropic' }, String(message)),
    info: (message) => logger.info({ sdk: 'anthropic' }, String(message)),
    debug: (message) => logger.debug({ sdk: 'anthropic' }, String(message)),
  };
}

/**
 * The official SDK with everything explicit: the key is passed (so no credential chain or
 * environment variable is consulted) and so is the base URL, which tests point at the fake.
 */
export function createAnthropicClient(options: ClientOptions): Anthropic {
  return new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? 'https://api.anthropic.com',
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    logger: sdkLogger(options.logger),
    logLevel: 'warn',
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
