import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AdapterContext, PlatformAdapter } from '../adapters/contract.js';
import { ADAPTER_FACTORIES } from '../adapters/registry.js';
import { createConversation } from '../bots/conversation.js';
import { createViews } from '../bots/views.js';
import { AccountService } from './accounts/service.js';
import { registerAdminRoutes } from './admin/routes.js';
import { createBillingGuard } from './billing/guard.js';
import { resolvePlans } from './billing/plans.js';
import { registerBillingRoutes } from './billing/routes.js';
import { BillingService } from './billing/service.js';
import { CheckoutLinks } from './billing/signed-link.js';
import { SpendEstimator } from './billing/spend.js';
import { applyStripeEvent } from './billing/stripe-webhook.js';
import { createBuilder } from './builder/index.js';
import type { Config } from './config/index.js';
import { localSecret } from './config/local-secrets.js';
import { publishLinkStatuses } from './connections/published.js';
import { ConnectionSupervisor } from './connections/supervisor.js';
import { AttachmentSource } from './core/attachments.js';
import type { InboundHandler } from './core/inbound-handler.js';
import { MessengerRegistry } from './core/messenger.js';
import { type Database, migrationAdvice, openDatabase } from './db/client.js';
import { createRepos, type Repos } from './db/repos/index.js';
import { StartupError } from './errors.js';
import { SlidingWindowLimiter } from './lib/rate-limiter.js';
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
import { InboundQueue } from './queue/inbound.js';
import type { InboundSource, QueueName } from './queue/jobs.js';
import { createQueues, type Queues } from './queue/producer.js';
import { startWorkers, type WorkerRunner } from './queue/worker-runner.js';
import { createRedis, probeRedis, type Redis, redactUrl } from './redis/connection.js';
import { PubSub } from './redis/pubsub.js';
import { exposureNotice } from './server/exposure.js';
import { registerIpRateLimit } from './server/rate-limit.js';
import { createServer } from './server/server.js';
import { SessionLifecycle } from './spawn/lifecycle.js';
import { fixedLimits, type LimitsPolicy, type PlanLimits } from './spawn/limits.js';
import { SpawnService } from './spawn/service.js';
import { createBundleStore } from './storage/index.js';
import type { BundleStore } from './storage/types.js';
import { initTracing } from './tracing.js';
import { ExportLinks } from './versions/export-link.js';
import { registerExportRoutes } from './versions/routes.js';
import { VersionService } from './versions/service.js';
import { createInboundProcessor } from './worker/inbound-processor.js';
import { createNotifyProcessor } from './worker/notify-processor.js';
import { createRedisPollGate } from './worker/poll-gate.js';
import { createReapProcessor } from './worker/reap-processor.js';
import { type ScheduleGuard, startScheduleGuard } from './worker/schedule-guard.js';
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
  /** Where every platform's deliveries are queued for the inbound worker. */
  readonly inbound: InboundQueue;
  readonly server: FastifyInstance;
  /** Intake: requests into sessions and queued builds. */
  readonly spawn: SpawnService;
  /** After intake: stop, extend, expire, end. */
  readonly lifecycle: SessionLifecycle;
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
    effort: config.ANTHROPIC_EFFORT,
    maxRepairs: config.BUILD_MAX_REPAIRS,
  };
}

async function connectDatabase(config: Config, roles: Roles, logger: Logger): Promise<Database> {
  let database: Database;
  try {
    database = await openDatabase({
      url: config.DATABASE_URL,
      pgliteDir: path.join(config.DATA_DIR, 'db'),
      poolMax: config.DATABASE_POOL_MAX,
      migrationUrl: config.DATABASE_DIRECT_URL,
      migrationLockTimeoutMs: config.DATABASE_MIGRATION_LOCK_TIMEOUT_MS,
    });
    await database.ping(5000);
  } catch (e) {
    const what = config.DATABASE_URL ? 'DATABASE_URL' : `the PGlite database in ${config.DATA_DIR}/db`;
    throw new StartupError(`${what}: cannot connect (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  if (roles.migrate) {
    const advice = migrationAdvice(config.DATABASE_URL, config.DATABASE_DIRECT_URL);
    if (advice) logger.warn(advice);
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

/**
 * Opens what providers serve in a worker (the local preview port) and says, in plain words,
 * what the operator should know (no sandbox, limits the machine cannot enforce).
 */
async function startProviders(providers: ReadonlyMap<ProviderName, Provider>, logger: Logger): Promise<void> {
  for (const provider of providers.values()) {
    try {
      await provider.start?.();
    } catch (e) {
      throw new StartupError(e instanceof Error ? e.message.replace(/^local provider: /, '') : String(e), {
        cause: e,
      });
    }
    // Said once known (the sandbox probe takes a moment), without holding up the start.
    provider
      .notices?.()
      .then((notices) => {
        for (const notice of notices) logger.warn({ provider: provider.name }, notice);
      })
      .catch((e: unknown) =>
        logger.warn({ provider: provider.name, err: String(e) }, 'could not check the provider'),
      );
  }
}

/** Plans, Stripe and the guards of paid plans; billing is on with STRIPE_SECRET_KEY or Stars prices. */
async function createBilling(
  config: Config,
  repos: Repos,
  queues: Queues,
  redis: Redis,
  llm: boolean,
  cookieSecret: string,
  logger: Logger,
) {
  const links = new CheckoutLinks(cookieSecret, config.PUBLIC_URL);
  const limiter = new SlidingWindowLimiter(redis, config.QUEUE_PREFIX);
  const service = new BillingService({
    config,
    repos,
    queues,
    plans: resolvePlans(config),
    links,
    // The Stripe SDK loads only where a key is set.
    ...(config.STRIPE_SECRET_KEY
      ? { stripe: (await import('./billing/stripe-client.js')).createStripeClient(config) }
      : {}),
    limiter,
    logger: logger.child({ module: 'billing' }),
  });
  const guard = service.enabled
    ? createBillingGuard(config, limiter, new SpendEstimator(config, llm))
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
  const tracing = await initTracing(config.OTEL_EXPORTER_OTLP_ENDPOINT, 'spawnai');
  const database = await connectDatabase(config, roles, logger);
  const repos = createRepos(database.db);
  // Commands of concurrent jobs issued in the same tick share one write (status edits, progress).
  const redis: Redis = createRedis(redisUrl, 'client', logger, { coalesceWrites: true });
  const prefix = config.QUEUE_PREFIX;
  const queues = createQueues(redis, {
    prefix,
    spawnAttempts: config.JOB_ATTEMPTS,
    spawnBackoffMs: config.JOB_BACKOFF_MS,
  });
  const inboundRedis: Redis = createRedis(redisUrl, 'client', logger, { coalesceWrites: true });
  const inbound = new InboundQueue(
    inboundRedis,
    {
      prefix,
      attempts: config.INBOUND_ATTEMPTS,
      keepCompletedS: config.INBOUND_KEEP_COMPLETED_S,
      busyDepth: config.INBOUND_BUSY_DEPTH,
      maxInFlight: config.INBOUND_MAX_IN_FLIGHT,
    },
    logger.child({ module: 'inbound' }),
  );
  const statusStore = new StatusStore(redis, prefix);
  const notifier = new Notifier(statusStore, queues, logger.child({ module: 'notify' }));
  const builder = await createBuilder(config, logger.child({ module: 'builder' }));
  const store = createBundleStore(config, logger.child({ module: 'storage' }));
  const providers = createProviders(config, logger, redis, {
    // The reaper ends the session with the limit's reason, which its card then shows.
    onLocalLimit: (sessionId) => {
      queues
        .enqueueReap({ kind: 'sweep', reason: 'app-stopped' })
        .catch((e: unknown) =>
          logger.error({ sessionId, err: String(e) }, 'could not queue the end of a stopped app'),
        );
    },
  });
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
  const billing = await createBilling(
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
  const lifecycle = new SessionLifecycle({ repos, queues, notifier, limits });
  const versions = new VersionService({
    repos,
    queues,
    notifier,
    store,
    links: new ExportLinks(cookieSecret, config.PUBLIC_URL),
    spawn,
    logger: logger.child({ module: 'versions' }),
  });
  const views = createViews({
    builderLabel: builder.label,
    offline: builder.name === 'offline',
    billing: billing.service.enabled,
    freeLimits: billing.service.enabled ? billing.service.plans().free : freeLimits(config),
  });
  const metrics = new Metrics();
  collectState(metrics, [queues.spawn, queues.notify, queues.reap], repos);
  const conversation = correlateConversation(
    instrumentConversation(
      createConversation({
        spawn,
        lifecycle,
        views,
        billing: billing.service,
        accounts: new AccountService({
          repos,
          limiter: new SlidingWindowLimiter(redis, config.QUEUE_PREFIX),
          logger: logger.child({ module: 'accounts' }),
        }),
        versions,
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
    inbound,
    redis,
    pubsub,
    billing: billing.service,
  };
  const adapters = (await Promise.all(ADAPTER_FACTORIES.map((factory) => factory(context)))).filter(
    (a): a is PlatformAdapter => a !== undefined,
  );
  const messengers = new MessengerRegistry();
  for (const adapter of adapters) messengers.register(instrumentMessenger(adapter.messenger, metrics));
  logger.info({ platforms: adapters.map((a) => a.platform) }, 'platforms configured');

  // Each platform connection of the bot role on its own: one that cannot connect is retried
  // and shown as degraded while everything else in the process keeps running.
  const supervisor = roles.bot
    ? new ConnectionSupervisor(
        adapters.flatMap((a) =>
          a.connect ? [{ platform: a.platform, connect: (signal: AbortSignal) => a.connect!(signal) }] : [],
        ),
        {
          minDelayMs: config.PLATFORM_RETRY_MIN_MS,
          maxDelayMs: config.PLATFORM_RETRY_MAX_MS,
          attemptTimeoutMs: config.PLATFORM_CONNECT_TIMEOUT_MS,
          logger: logger.child({ module: 'connections' }),
          onChange: () => linkPublisher?.changed(),
        },
      )
    : undefined;
  const linkPublisher = supervisor
    ? publishLinkStatuses(redis, prefix, () => supervisor.statuses(), logger)
    : undefined;

  // Every process serves /health, /ready and /metrics on PORT (a worker's build metrics live in
  // the worker); only the web role adds the chat, webhook, admin and billing routes.
  const server: FastifyInstance = await createServer({
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    metrics,
    ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
    ...(supervisor ? { platformLinks: () => supervisor.statuses() } : {}),
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
    await registerExportRoutes(server, versions);
    if (config.ADMIN_TOKEN) {
      await registerAdminRoutes(server, {
        token: config.ADMIN_TOKEN,
        key: cookieSecret,
        secureCookies: config.PUBLIC_URL.startsWith('https://'),
        repos,
        queues,
        inbound: inbound.queue,
        lifecycle,
      });
    }
    if (billing.service.stripe) {
      await registerBillingRoutes(server, {
        billing: billing.service,
        links: billing.links,
        stripe: billing.service.stripe,
        config,
        repos,
        inbound,
        logger: logger.child({ module: 'billing' }),
      });
    }
  }

  // The conversation of every platform's deliveries, run by the inbound worker.
  const inboundHandlers = new Map<InboundSource, InboundHandler>();
  for (const adapter of adapters) if (adapter.inbound) inboundHandlers.set(adapter.platform, adapter.inbound);
  inboundHandlers.set('stripe', async ({ data }) =>
    applyStripeEvent(data.payload as Parameters<typeof applyStripeEvent>[0], {
      repos,
      config,
      billing: billing.service,
      logger: logger.child({ module: 'billing' }),
    }),
  );
  const workerQueues = new Set(config.WORKER_QUEUES.split(',') as QueueName[]);

  let workers: WorkerRunner | undefined;
  let scheduleGuard: ScheduleGuard | undefined;
  const app: App = {
    config,
    repos,
    queues,
    inbound,
    server,
    spawn,
    lifecycle,
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
        // A worker of incoming messages only runs no apps (no preview port, no sandbox probe).
        if (workerQueues.has('spawn') || workerQueues.has('reap')) await startProviders(providers, logger);
        const processors = {
          inbound: createInboundProcessor({
            handlers: inboundHandlers,
            redis,
            prefix,
            keepS: config.INBOUND_KEEP_COMPLETED_S,
            logger: logger.child({ module: 'worker-inbound' }),
          }),
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
            attachments: new AttachmentSource(
              new Map(adapters.flatMap((a) => (a.files ? [[a.platform, a.files] as const] : []))),
            ),
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
            lifecycle,
            notifier,
            views,
            queues,
            deployTimeoutMs: config.DEPLOY_TIMEOUT_MS,
            limits,
            lockDurationMs: config.WORKER_LOCK_MS,
            pollGate: createRedisPollGate(redis, prefix),
            cloudPollIntervalMs: config.PROVIDER_POLL_INTERVAL_MS,
            logger: logger.child({ module: 'reaper' }),
          }),
        };
        workers = startWorkers(
          Object.fromEntries(Object.entries(processors).filter(([q]) => workerQueues.has(q as QueueName))),
          {
            redisUrl,
            prefix,
            concurrency: {
              inbound: config.INBOUND_CONCURRENCY,
              spawn: config.WORKER_CONCURRENCY,
              notify: config.NOTIFY_CONCURRENCY,
              reap: 1,
            },
            lockDurationMs: config.WORKER_LOCK_MS,
            stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
            metrics,
          },
          logger,
        );
        // Every worker watches for Redis losing its data (the schedules, and jobs of unfinished builds).
        scheduleGuard = await startScheduleGuard({
          redis,
          prefix,
          queues,
          reaperIntervalMs: config.REAPER_INTERVAL_MS,
          logger: logger.child({ module: 'schedules' }),
        });
        if (workerQueues.has('reap')) {
          // A sweep at start restarts live apps that stopped with the previous process.
          await queues.enqueueReap({ kind: 'sweep', reason: 'startup' });
        }
      }
      this.url = await server.listen({ port: config.PORT, host: config.HOST });
      if (supervisor) {
        supervisor.start();
        linkPublisher?.start();
        // Started together, so a first message finds its platform connected; a platform that
        // is down does not hold the start longer than one attempt.
        await supervisor.firstAttempts(config.PLATFORM_CONNECT_TIMEOUT_MS + 1000);
        const fatal = supervisor.fatalErrors();
        const linked = supervisor.statuses().length;
        if (!roles.web && !roles.worker && linked > 0 && fatal.length === linked) {
          // A bot process whose every platform refused its credentials has nothing to do.
          const first = fatal[0]!.error;
          throw first instanceof StartupError
            ? first
            : new StartupError(
                `${fatal[0]!.platform}: ${first instanceof Error ? first.message : String(first)}`,
              );
        }
      }
      if (roles.web) {
        const exposed = exposureNotice(config);
        if (exposed) logger.warn({ host: config.HOST, port: config.PORT }, exposed);
      }
    },
    async stop() {
      const deadline = config.SHUTDOWN_TIMEOUT_MS;
      await server.close().catch((e: unknown) => logger.warn({ err: String(e) }, 'server close'));
      await supervisor?.stop();
      await linkPublisher?.stop();
      scheduleGuard?.stop();
      if (workers) await workers.close(deadline);
      for (const provider of providers.values()) await provider.close?.();
      for (const adapter of adapters) await adapter.close?.().catch(() => {});
      await inbound.close().catch(() => {});
      await inboundRedis.quit().catch(() => inboundRedis.disconnect());
      await queues.close().catch(() => {});
      await pubsub.close();
      await redis.quit().catch(() => redis.disconnect());
      await database.close().catch(() => {});
      await tracing.shutdown();
    },
  };
  return app;
}
