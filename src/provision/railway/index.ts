import { SpawnError } from '../../errors.js';
import { CircuitBreaker } from '../../lib/circuit-breaker.js';
import type { Logger } from '../../log.js';
import { createCloudProvider } from '../cloud/provider.js';
import type { GuardedProvider } from '../resilience/guarded.js';
import { ProviderHttp } from '../resilience/http.js';
import type { ProviderName } from '../types.js';
import {
  RAILWAY_LABEL,
  RailwayApi,
  type RailwayTokenType,
  type RegistryCredentials,
  railwayAuthHeaders,
} from './api.js';

export interface RailwayProviderOptions {
  /** The GraphQL endpoint (RAILWAY_API_URL). */
  readonly apiUrl: string;
  /** RAILWAY_API_TOKEN: an account or workspace token (Bearer) or a project token. */
  readonly token: string;
  /** RAILWAY_TOKEN_TYPE; default `account`. */
  readonly tokenType?: RailwayTokenType;
  /** Login for a private RUNTIME_IMAGE, sent when a service is created. */
  readonly registryCredentials?: RegistryCredentials;
  readonly projectId: string;
  readonly environmentId: string;
  /** The runtime image every service runs (RUNTIME_IMAGE). */
  readonly image: string;
  readonly logger: Logger;
  /** Default CLOUD_DEPLOY_TIMEOUT_MS. */
  readonly deployTimeoutMs?: number;
  /** Where a new session goes when Railway refuses (PROVIDER_FALLBACK). */
  readonly fallback?: ProviderName;
  /** Default: a breaker with the standard thresholds. */
  readonly breaker?: CircuitBreaker;
  /** Per-request timeout; default PROVIDER_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /** The clock of the cached service listing (tests). */
  readonly now?: () => number;
}

/**
 * Runs each session as a Railway service in one project and environment (see
 * {@link createCloudProvider}).
 *
 * @throws SpawnError `ERR_CONFIG` for missing options.
 */
export function createRailwayProvider(options: RailwayProviderOptions): GuardedProvider {
  for (const key of ['apiUrl', 'token', 'projectId', 'environmentId', 'image'] as const) {
    if (!options[key]) throw new SpawnError('ERR_CONFIG', `railway provider: ${key} is required`);
  }
  const breaker = options.breaker ?? new CircuitBreaker({ label: RAILWAY_LABEL });
  const http = new ProviderHttp({
    label: RAILWAY_LABEL,
    baseUrl: options.apiUrl,
    headers: railwayAuthHeaders(options.token, options.tokenType),
    credentialVar: 'RAILWAY_API_TOKEN',
    breaker,
    logger: options.logger.child({ module: 'provision/railway' }),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  const api = new RailwayApi({
    http,
    projectId: options.projectId,
    environmentId: options.environmentId,
    image: options.image,
    ...(options.tokenType ? { tokenType: options.tokenType } : {}),
    ...(options.registryCredentials ? { registryCredentials: options.registryCredentials } : {}),
  });
  return createCloudProvider(api, {
    name: 'railway',
    logger: options.logger,
    breaker,
    ...(options.deployTimeoutMs ? { deployTimeoutMs: options.deployTimeoutMs } : {}),
    ...(options.fallback ? { fallback: options.fallback } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}
