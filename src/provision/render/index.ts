import { SpawnError } from '../../errors.js';
import { CircuitBreaker } from '../../lib/circuit-breaker.js';
import type { Logger } from '../../log.js';
import { createCloudProvider } from '../cloud/provider.js';
import type { GuardedProvider } from '../resilience/guarded.js';
import { ProviderHttp } from '../resilience/http.js';
import type { ProviderName } from '../types.js';
import { RENDER_LABEL, RenderApi } from './api.js';
import { type CreateBudget, createMemoryCreateBudget } from './create-budget.js';

export interface RenderProviderOptions {
  /** REST base URL (RENDER_API_URL), e.g. https://api.render.com/v1. */
  readonly apiUrl: string;
  /** RENDER_API_KEY, sent as a Bearer token. */
  readonly apiKey: string;
  /** Workspace that owns the services (RENDER_OWNER_ID). */
  readonly ownerId: string;
  /** The runtime image every service runs (RUNTIME_IMAGE). */
  readonly image: string;
  readonly plan: string;
  readonly region: string;
  readonly logger: Logger;
  /** Shared count of service creations (Render allows 20 per hour); default: this process only. */
  readonly createBudget?: CreateBudget;
  /** Default CLOUD_DEPLOY_TIMEOUT_MS. */
  readonly deployTimeoutMs?: number;
  /** Where a new session goes when Render refuses (PROVIDER_FALLBACK). */
  readonly fallback?: ProviderName;
  readonly breaker?: CircuitBreaker;
  readonly requestTimeoutMs?: number;
  /** RENDER_REGISTRY_CREDENTIAL_ID: the registry credential that pulls a private RUNTIME_IMAGE. */
  readonly registryCredentialId?: string;
  /** The clock of the cached service listing (tests). */
  readonly now?: () => number;
}

/**
 * Runs each session as a Render web service (see {@link createCloudProvider}); a deploy that
 * needs a new service is refused up front once Render's hourly creation budget is spent.
 *
 * @throws SpawnError `ERR_CONFIG` for missing options.
 */
export function createRenderProvider(options: RenderProviderOptions): GuardedProvider {
  for (const key of ['apiUrl', 'apiKey', 'ownerId', 'image'] as const) {
    if (!options[key]) throw new SpawnError('ERR_CONFIG', `render provider: ${key} is required`);
  }
  const breaker = options.breaker ?? new CircuitBreaker({ label: RENDER_LABEL });
  const http = new ProviderHttp({
    label: RENDER_LABEL,
    baseUrl: options.apiUrl,
    headers: { authorization: `Bearer ${options.apiKey}` },
    credentialVar: 'RENDER_API_KEY',
    breaker,
    logger: options.logger.child({ module: 'provision/render' }),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  const api = new RenderApi({
    http,
    ownerId: options.ownerId,
    image: options.image,
    plan: options.plan,
    region: options.region,
    createBudget: options.createBudget ?? createMemoryCreateBudget(),
    ...(options.registryCredentialId ? { registryCredentialId: options.registryCredentialId } : {}),
  });
  return createCloudProvider(api, {
    name: 'render',
    logger: options.logger,
    breaker,
    ...(options.deployTimeoutMs ? { deployTimeoutMs: options.deployTimeoutMs } : {}),
    ...(options.fallback ? { fallback: options.fallback } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}
