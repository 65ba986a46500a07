import path from 'node:path';
import type { Config } from '../config/index.js';
import { StartupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Redis } from '../redis/connection.js';
import { createLocalProvider } from './local/index.js';
import { createRailwayProvider } from './railway/index.js';
import { createMemoryCreateBudget, createRedisCreateBudget } from './render/create-budget.js';
import { createRenderProvider } from './render/index.js';
import type { Provider, ProviderName } from './types.js';

/** Railway is on when its token, project and environment are all set. */
export function railwayConfigured(config: Config): boolean {
  return Boolean(config.RAILWAY_API_TOKEN && config.RAILWAY_PROJECT_ID && config.RAILWAY_ENVIRONMENT_ID);
}

/** Render is on when its API key and owner are both set. */
export function renderConfigured(config: Config): boolean {
  return Boolean(config.RENDER_API_KEY && config.RENDER_OWNER_ID);
}

/**
 * Every provider the configuration enables; the local one always. Railway and Render download
 * bundles from signed URLs, so they need the Supabase bundle store. With PROVIDER_FALLBACK and
 * both configured, each names the other as where a new session goes when it refuses. `redis`
 * shares Render's count of service creations between workers.
 *
 * @throws StartupError when a cloud provider is configured without Supabase Storage.
 */
export function createProviders(config: Config, logger: Logger, redis?: Redis): Map<ProviderName, Provider> {
  const providers = new Map<ProviderName, Provider>();
  providers.set(
    'local',
    createLocalProvider({
      appsDir: path.join(config.DATA_DIR, 'apps'),
      memoryMb: config.LOCAL_APP_MEMORY_MB,
      previewHost: config.LOCAL_PREVIEW_HOST,
      logger,
    }),
  );
  const railway = railwayConfigured(config);
  const render = renderConfigured(config);
  if ((railway || render) && !(config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY)) {
    const variable = railway ? 'RAILWAY_API_TOKEN' : 'RENDER_API_KEY';
    throw new StartupError(
      `${variable}: ${railway ? 'Railway' : 'Render'} downloads each app from a signed URL; ` +
        'set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY so bundles are kept in Supabase Storage',
    );
  }
  const fallback = config.PROVIDER_FALLBACK && railway && render;
  if (railway) {
    providers.set(
      'railway',
      createRailwayProvider({
        apiUrl: config.RAILWAY_API_URL,
        token: config.RAILWAY_API_TOKEN!,
        projectId: config.RAILWAY_PROJECT_ID!,
        environmentId: config.RAILWAY_ENVIRONMENT_ID!,
        image: config.RUNTIME_IMAGE,
        deployTimeoutMs: config.DEPLOY_TIMEOUT_MS,
        logger,
        ...(fallback ? { fallback: 'render' as const } : {}),
      }),
    );
  }
  if (render) {
    const max = config.RENDER_MAX_CREATES_PER_HOUR;
    providers.set(
      'render',
      createRenderProvider({
        apiUrl: config.RENDER_API_URL,
        apiKey: config.RENDER_API_KEY!,
        ownerId: config.RENDER_OWNER_ID!,
        image: config.RUNTIME_IMAGE,
        plan: config.RENDER_PLAN,
        region: config.RENDER_REGION,
        deployTimeoutMs: config.DEPLOY_TIMEOUT_MS,
        createBudget: redis
          ? createRedisCreateBudget(
              redis,
              `${config.QUEUE_PREFIX}:render:creates:${config.RENDER_OWNER_ID}`,
              max,
            )
          : createMemoryCreateBudget(max),
        logger,
        ...(fallback ? { fallback: 'railway' as const } : {}),
      }),
    );
  }
  return providers;
}

/** The provider new sessions go to: PROVIDER, else Railway, else Render when configured, else local. */
export function defaultProvider(config: Config): ProviderName {
  if (config.PROVIDER) return config.PROVIDER;
  if (railwayConfigured(config)) return 'railway';
  if (renderConfigured(config)) return 'render';
  return 'local';
}
