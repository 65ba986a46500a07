import path from 'node:path';
import type { Config } from '../config/index.js';
import { StartupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Redis } from '../redis/connection.js';
import { type AppLimits, createLocalProvider, DEFAULT_APP_LIMITS } from './local/index.js';
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

/** What each local app may use, from the LOCAL_APP_* variables. */
export function localAppLimits(config: Config): AppLimits {
  return {
    memoryMb: config.LOCAL_APP_MEMORY_MB,
    fileMb: config.LOCAL_APP_FILE_MB,
    diskMb: config.LOCAL_APP_DISK_MB,
    files: DEFAULT_APP_LIMITS.files,
    processes: config.LOCAL_APP_PROCESSES,
    cpuPercent: config.LOCAL_APP_CPU_PERCENT,
  };
}

export interface ProviderHooks {
  /** A limit ended a running local app; `reason` is for the person's card. */
  readonly onLocalLimit?: (sessionId: string, reason: string) => void;
}

/**
 * Every provider the configuration enables; the local one always. Railway and Render download
 * bundles from signed URLs, so they need the Supabase bundle store. With PROVIDER_FALLBACK and
 * both configured, each names the other as where a new session goes when it refuses. `redis`
 * shares Render's count of service creations between workers.
 *
 * @throws StartupError when a cloud provider is configured without Supabase Storage.
 */
export function createProviders(
  config: Config,
  logger: Logger,
  redis?: Redis,
  hooks: ProviderHooks = {},
): Map<ProviderName, Provider> {
  const providers = new Map<ProviderName, Provider>();
  const railway = railwayConfigured(config);
  const render = renderConfigured(config);
  providers.set(
    'local',
    createLocalProvider({
      appsDir: path.join(config.DATA_DIR, 'apps'),
      limits: localAppLimits(config),
      previewHost: config.LOCAL_PREVIEW_HOST,
      previewPort: config.PREVIEW_PORT,
      previewListenHost: config.HOST,
      sandbox: { bwrap: config.LOCAL_SANDBOX_BWRAP },
      allowUnsandboxed: config.LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX,
      alternatives: [...(railway ? ['railway'] : []), ...(render ? ['render'] : [])],
      ...(hooks.onLocalLimit ? { onLimit: hooks.onLocalLimit } : {}),
      logger,
    }),
  );
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
        tokenType: config.RAILWAY_TOKEN_TYPE,
        ...(config.RUNTIME_IMAGE_REGISTRY_USERNAME && config.RUNTIME_IMAGE_REGISTRY_PASSWORD
          ? {
              registryCredentials: {
                username: config.RUNTIME_IMAGE_REGISTRY_USERNAME,
                password: config.RUNTIME_IMAGE_REGISTRY_PASSWORD,
              },
            }
          : {}),
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
        ...(config.RENDER_REGISTRY_CREDENTIAL_ID
          ? { registryCredentialId: config.RENDER_REGISTRY_CREDENTIAL_ID }
          : {}),
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
