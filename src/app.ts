import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ADAPTER_FACTORIES } from '../adapters/registry.js';
import { createConversation } from '../bots/conversation.js';
import { createViews } from '../bots/views.js';
import { registerAdminRoutes } from './admin/routes.js';
import { createBillingGuard } from './billing/guard.js';
import { resolvePlans } from './billing/plans.js';
import { SlidingWindowLimiter } from './billing/rate-limit.js';
import { registerBillingRoutes } from './billing/routes.js';
import { BillingService } from './billing/service.js';
import { CheckoutLinks } from './billing/signed-link.js';
import { SpendEstimator } from './billing/spend.js';
import { createStripeClient } from './billing/stripe-client.js';
import { createBuilder } from './build/index.js';
import type { Config } from './config/index.js';
import { localSecret } from './config/local-secrets.js';
import type { AdapterContext, Connection, PlatformAdapter } from './core/adapter.js';
import { MessengerRegistry } from './core/messenger.js';
import { type Database, openDatabase } from './db/client.js';
import { createRepos, type Repos } from './db/repos/index.js';
import { StartupError } from './errors.js';
import type { Logger } from './log.js';
import {
  collectState,
  correlateConversation,
  instrumentConversation,
  instrumentMessenger,
} from './metrics/instrument.js';
import { Metrics } from './metrics/metrics.js';
import { Notifier } from './notify/notifier.js';
import { StatusStore } from './notify/status-store.js';
import { createProviders, defaultProvider } from './provision/index.js';
import type { Provider, ProviderName } from './provision/types.js';
import { createQueues, type Queues } from './queue/producer.js';
import { startWorkers, type WorkerRunner } from './queue/worker-runner.js';
import { createRedis, probeRedis, type Redis, redactUrl } from './redis/connection.js';
import { PubSub } from './redis/pubsub.js';
import { registerIpRateLimit } from './server/rate-limit.js';
import { createServer } from './server/server.js';
import { fixedLimits, type LimitsPolicy, type PlanLimits } from './spawn/limits.js';
import { SpawnService } from './spawn/service.js';
import { createBundleStore } from './storage/index.js';
import type { BundleStore } from './storage/types.js';
import { initTracing } from './tracing.js';
import { createNotifyProcessor } from './worker/notify-processor.js';
import { createReapProcessor } from './worker/reap-processor.js';
import { createSpawnProcessor } from './worker/spawn-processor.js';

export interface Roles {
  /** HTTP: webhooks, web chat, health, metrics, admin. */
  readonly web: boolean;
  /** BullMQ workers: spawn, notify, reap. */
  readonly worker: boolean;
  /** Long-lived platform connections (gateway, socket mode, long polling). */
  readonly bot: boolean;
  /** Apply pending migrations at start (`start`); otherwise refuse to run on an old schema. */
  readonly migrate: boolean;
}

export interface App {
  readonly config: Config;
  readonly repos: Repos;
  readonly queues: Queues;
  readonly server: FastifyInstance;
  readonly spawn: SpawnService;
  readonly providers: ReadonlyMap<ProviderName, Provider>;
  readonly store: BundleStore;
  readonly notifier: Notifier;
  readonly adapters: readonly PlatformAdapter[];
  readonly billing: BillingService;
  readonly metrics: Metrics;
  /** The address the server listens on, once started. */
  url: string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function freeLimits(config: Config): PlanLimits {
  return {
    plan: 'free',
    liveSessions: config.FREE_LIVE_SESSIONS,
    buildsPerDay: config.FREE_BUILDS_PER_DAY,
    ttlMinutes: config.SESSION_TTL_MINUTES,
    extendMinutes: config.SESSION_EXTEND_MINUTES,
    maxSessionMinutes: config.SESSION_MAX_MINUTES,
    maxOutputTokens: config.BUILD_MAX_OUTPUT_TOKENS,
    buildWallTimeMs: config.BUILD_TIMEOUT_MS,
  };
}

async function connectDatabase(config: Config, roles: Roles, logger: Logger): Promise<Database> {
  let database: Database;
  try {
    database = await openDatabase({
      url: config.DATABASE_URL,
      pgliteDir: path.join(config.DATA_DIR, 'db'),
      poolMax: config.DATABASE_POOL_MAX,
    });
    await database.ping(5000);
  } catch (e) {
    const what = config.DATABASE_URL ? 'DATABASE_URL' : `the PGlite database in ${config.DATA_DIR}/db`;
    throw new StartupError(`${what}: cannot connect (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  if (roles.migrate) {
    await database.migrate();
  } else {
    const pending = await database.pendingMigrations();
    if (pending > 0) {
      throw new StartupError(
        `DATABASE_URL: the database is ${pending} migration(s) behind; run \`spawnai migrate\` first`,
      );
    }
  }
  logger.info({ database: database.kind }, 'database ready');
  return database;
}

/** Verifies Redis answers before anything relies on it. */
export async function checkRedis(url: string, variable = 'REDIS_URL'): Promise<void> {
  try {
    await probeRedis(url, 3000);
  } catch (e) {
    throw new StartupError(
      `${variable}: cannot connect to ${redactUrl(url)} (${e instanceof Error ? e.message : String(e)})`,
      { cause: e },
    );
  }
}

/** Plans, Stripe and the guards of paid plans; billing is on with STRIPE_SECRET_KEY or Stars prices. */
function createBilling(
  config: Config,
  repos: Repos,
  queues: Queues,
  redis: Redis,
  llm: boolean,
  cookieSecret: string,
  logger: Logger,
) {
  const links = new CheckoutLinks(cookieSecret, config.PUBLIC_URL);
  const service = new BillingService({
    config,
    repos,
    queues,
    plans: resolvePlans(config),
    links,
    ...(config.STRIPE_SECRET_KEY ? { stripe: createStripeClient(config) } : {}),
    logger: logger.child({ module: 'billing' }),
  });
  const guard = service.enabled
    ? createBillingGuard(
        config,
        new SlidingWindowLimiter(redis, config.QUEUE_PREFIX),
        new SpendEstimator(config, llm),
      )
    : undefined;
  return { service, links, guard };
}

/**
 * The composition root: builds the object graph from config for the requested roles.
 * The only module that imports adapters/ and bots/.
 */
export async function createApp(
  config: Config,
  roles: Roles,
  logger: Logger,
  redisUrl: string,
): Promise<App> {
  await checkRedis(redisUrl, config.REDIS_URL_SET ? 'REDIS_URL' : 'REDIS_URL (unset, default)');
  const tracing = initTracing(config.OTEL_EXPORTER_OTLP_ENDPOINT, 'spawnai');
  const database = await connectDatabase(config, roles, logger);
  const repos = createRepos(database.db);
  const redis: Redis = createRedis(redisUrl, 'client', logger);
  const prefix = config.QUEUE_PREFIX;
  const queues = createQueues(redis, {
    prefix,
    spawnAttempts: config.JOB_ATTEMPTS,
    spawnBackoffMs: config.JOB_BACKOFF_MS,
  });
  const statusStore = new StatusStore(redis, prefix);
  const notifier = new Notifier(statusStore, queues, logger.child({ module: 'notify' }));
  const builder = createBuilder(config, logger.child({ module: 'builder' }));
  const store = createBundleStore(config, logger.child({ module: 'storage' }));
  const providers = createProviders(config, logger, redis);
  const providerName = defaultProvider(config);
  const cookieSecret = config.COOKIE_SECRET ?? localSecret(config.DATA_DIR, 'cookieSecret');
  const split = !(roles.web && roles.worker);
  const unshared = (['COOKIE_SECRET', 'ENCRYPTION_KEY'] as const).filter((v) => config[v] === undefined);
  if (split && unshared.length > 0) {
    // Links signed by the worker are checked by web; tokens sealed by web are opened by the worker.
    logger.warn(
      { unset: unshared },
      `${unshared.join(' and ')} not set: generated in ${config.DATA_DIR}, so processes on other machines will not accept each other's links and tokens; set the same value on every process`,
    );
  }
  const billing = createBilling(
    config,
    repos,
    queues,
    redis,
    builder.name === 'claude',
    cookieSecret,
    logger,
  );
  const limits: LimitsPolicy = billing.service.enabled ? billing.service : fixedLimits(freeLimits(config));
  const spawn = new SpawnService({
    repos,
    queues,
    notifier,
    limits,
    builderName: builder.name,
    provider: providerName,
    providers: [...providers.keys()],
    promptMaxChars: config.PROMPT_MAX_CHARS,
    logger: logger.child({ module: 'spawn' }),
    ...(billing.guard ? { guard: billing.guard } : {}),
  });
  const views = createViews({
    builderLabel: builder.label,
    offline: builder.name === 'offline',
    billing: billing.service.enabled,
    freeLimits: billing.service.enabled ? billing.service.plans().free : freeLimits(config),
  });
  const metrics = new Metrics();
  collectState(metrics, queues, repos);
  const conversation = correlateConversation(
    instrumentConversation(
      createConversation({
        spawn,
        views,
        billing: billing.service,
        logger: logger.child({ module: 'conversation' }),
      }),
      metrics,
    ),
  );
  const pubsub = new PubSub(redisUrl, redis, logger);

  const context: AdapterContext = {
    config,
    logger,
    repos,
    conversation,
    queues,
    redis,
    pubsub,
    billing: billing.service,
  };
  const adapters = ADAPTER_FACTORIES.map((factory) => factory(context)).filter(
    (a): a is PlatformAdapter => a !== undefined,
  );
  const messengers = new MessengerRegistry();
  for (const adapter of adapters) messengers.register(instrumentMessenger(adapter.messenger, metrics));
  logger.info({ platforms: adapters.map((a) => a.platform) }, 'platforms configured');

  // Every process serves /health, /ready and /metrics on PORT (a worker's build metrics live in
  // the worker); only the web role adds the chat, webhook, admin and billing routes.
  const server: FastifyInstance = await createServer({
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    metrics,
    ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
    readiness: {
      postgres: () => database.ping(),
      redis: async () => {
        await redis.ping();
      },
    },
  });
  if (roles.web) {
    await registerIpRateLimit(server, redis, { perMinute: config.RATE_LIMIT_PER_IP_PER_MINUTE, prefix });
    for (const adapter of adapters) await adapter.registerRoutes?.(server);
    if (config.ADMIN_TOKEN) {
      await registerAdminRoutes(server, {
        token: config.ADMIN_TOKEN,
        key: cookieSecret,
        secureCookies: config.PUBLIC_URL.startsWith('https://'),
        repos,
        queues,
        spawn,
      });
    }
    if (billing.service.stripe) {
      await registerBillingRoutes(server, {
        billing: billing.service,
        links: billing.links,
        stripe: billing.service.stripe,
        config,
        repos,
        logger: logger.child({ module: 'billing' }),
      });
    }
  }

  let workers: WorkerRunner | undefined;
  const connections: Connection[] = [];
  const app: App = {
    config,
    repos,
    queues,
    server,
    spawn,
    providers,
    store,
    notifier,
    adapters,
    billing: billing.service,
    metrics,
    url: undefined,
    async start() {
      if (roles.worker) {
        if (!providers.has(providerName))
          throw new StartupError(`PROVIDER: ${providerName} is not configured`);
        workers = startWorkers(
          {
            spawn: createSpawnProcessor({
              repos,
              builder,
              store,
              providers,
              notifier,
              limits,
              timeouts: {
                buildMs: config.BUILD_TIMEOUT_MS,
                storeMs: config.STORE_TIMEOUT_MS,
                deployMs: config.DEPLOY_TIMEOUT_MS,
              },
              logger: logger.child({ module: 'worker-spawn' }),
              metrics,
            }),
            notify: createNotifyProcessor({
              repos,
              statusStore,
              messengers,
              views,
              queues,
              logger: logger.child({ module: 'worker-notify' }),
              ...(billing.service.enabled
                ? { upgradeButton: (session) => billing.service.upgradeButton(session) }
                : {}),
            }),
            reap: createReapProcessor({
              repos,
              providers,
              store,
              spawn,
              notifier,
              queues,
              deployTimeoutMs: config.DEPLOY_TIMEOUT_MS,
              logger: logger.child({ module: 'reaper' }),
            }),
          },
          {
            redisUrl,
            prefix,
            concurrency: { spawn: config.WORKER_CONCURRENCY, notify: config.NOTIFY_CONCURRENCY, reap: 1 },
            lockDurationMs: config.WORKER_LOCK_MS,
            stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
            metrics,
          },
          logger,
        );
        await queues.scheduleReaper(config.REAPER_INTERVAL_MS);
        // A sweep at start restarts live apps that stopped with the previous process.
        await queues.enqueueReap({ kind: 'sweep', reason: 'startup' });
      }
      if (roles.bot) {
        for (const adapter of adapters) {
          if (adapter.connect) connections.push(await adapter.connect());
        }
      }
      this.url = await server.listen({ port: config.PORT, host: config.HOST });
    },
    async stop() {
      const deadline = config.SHUTDOWN_TIMEOUT_MS;
      await server.close().catch((e: unknown) => logger.warn({ err: String(e) }, 'server close'));
      for (const c of connections) await c.stop().catch(() => {});
      if (workers) await workers.close(deadline);
      for (const provider of providers.values()) await provider.close?.();
      for (const adapter of adapters) await adapter.close?.().catch(() => {});
      await queues.close().catch(() => {});
      await pubsub.close();
      await redis.quit().catch(() => redis.disconnect());
      await database.close().catch(() => {});
      await tracing.shutdown();
    },
  };
  return app;
}
