import { plansJsonSchema } from './plans-schema.js';
import {
  bool,
  int,
  num,
  oneOf,
  optionalNum,
  optionalOneOf,
  optionalParsed,
  optionalString,
  optionalUrl,
  stringWithDefault,
  urlWithDefault,
  type VarSpec,
} from './vars.js';

const HTTP = ['http:', 'https:'] as const;
const s = (group: VarSpec['group'], doc: string, secret = false) => ({ group, doc, secret });

/**
 * Every environment variable SpawnAI reads. The names in DESIGN.md are fixed;
 * deployments and outside tests rely on them.
 */
export const VARS = {
  // service
  PORT: int(3000, 1, 65535, s('service', 'HTTP port of the web process')),
  HOST: stringWithDefault(
    '127.0.0.1',
    s(
      'service',
      'Interface the web process and the preview port listen on (0.0.0.0: reachable from other machines)',
    ),
  ),
  PUBLIC_URL: optionalUrl(
    HTTP,
    s('service', 'Public base URL of webhooks and payment links (default: http://localhost:$PORT)'),
  ),
  DATA_DIR: stringWithDefault(
    './.spawnai',
    s('service', 'Local state: PGlite database, bundles, local apps'),
  ),
  LOG_LEVEL: oneOf(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    'info',
    s('service', 'pino log level'),
  ),
  ADMIN_TOKEN: optionalString({
    ...s('service', 'Bearer token for /admin (admin is off when unset)', true),
    min: 16,
    expected: 'at least 16 characters',
  }),
  METRICS_TOKEN: optionalString({
    ...s('service', 'Bearer token for /metrics (open when unset: keep it on a private network)', true),
    min: 16,
    expected: 'at least 16 characters',
  }),
  COOKIE_SECRET: optionalString({
    ...s('service', 'Signs web chat cookies (default: generated once into DATA_DIR)', true),
    min: 32,
    expected: 'at least 32 characters',
  }),
  ENCRYPTION_KEY: optionalString({
    ...s(
      'service',
      'Encrypts stored platform tokens: 64 hex chars (default: generated once into DATA_DIR)',
      true,
    ),
    pattern: /^[0-9a-fA-F]{64}$/,
    expected: '64 hexadecimal characters (32 bytes)',
  }),
  BODY_LIMIT_BYTES: int(1_048_576, 1024, 16_777_216, s('service', 'Largest accepted request body')),
  SHUTDOWN_TIMEOUT_MS: int(8000, 100, 600_000, s('service', 'How long running jobs may finish on SIGTERM')),
  TRUST_PROXY: bool(false, s('service', 'Trust X-Forwarded-* headers (behind a load balancer)')),

  // stores
  DATABASE_URL: optionalUrl(
    ['postgres:', 'postgresql:'],
    s('stores', 'Postgres / Supabase connection string (unset: PGlite in DATA_DIR/db)', true),
  ),
  DATABASE_DIRECT_URL: optionalUrl(
    ['postgres:', 'postgresql:'],
    s(
      'stores',
      "Postgres URL for migrations when DATABASE_URL is a transaction pooler (Supabase's direct connection or session pooler on 5432; default DATABASE_URL)",
      true,
    ),
  ),
  DATABASE_MIGRATION_LOCK_TIMEOUT_MS: int(
    60_000,
    100,
    3_600_000,
    s('stores', "Longest wait for another process's migrations before a start gives up"),
  ),
  DATABASE_POOL_MAX: int(10, 1, 200, s('stores', 'Postgres pool size per process')),
  REDIS_URL: optionalUrl(
    ['redis:', 'rediss:'],
    s(
      'stores',
      'Redis for BullMQ (unset: 127.0.0.1:6379, or a private redis-server started by `start`)',
      true,
    ),
  ),
  QUEUE_PREFIX: stringWithDefault('spawnai', {
    ...s('stores', 'Redis key prefix of the queues'),
    expected: 'a non-empty string',
  }),

  // spawn
  PROMPT_MAX_CHARS: int(4000, 10, 100_000, s('spawn', 'Longest accepted prompt')),
  FREE_LIVE_SESSIONS: int(2, 0, 1000, s('spawn', 'Free plan: sessions building or live at once, per user')),
  FREE_BUILDS_PER_DAY: int(20, 0, 100_000, s('spawn', 'Free plan: builds per user per rolling 24 h')),
  SESSION_TTL_MINUTES: int(
    60,
    1,
    60 * 24 * 30,
    s('spawn', 'Free plan: how long an app lives after it is live'),
  ),
  SESSION_EXTEND_MINUTES: int(30, 1, 60 * 24, s('spawn', 'Time added by /extend')),
  SESSION_MAX_MINUTES: int(
    240,
    1,
    60 * 24 * 365,
    s('spawn', 'Free plan: longest lifetime a session can be extended to'),
  ),

  // worker
  WORKER_CONCURRENCY: int(4, 1, 256, s('worker', 'Spawn jobs run at once per worker process')),
  NOTIFY_CONCURRENCY: int(32, 1, 1024, s('worker', 'Status-message deliveries at once per worker process')),
  INBOUND_CONCURRENCY: int(
    16,
    1,
    1024,
    s('worker', 'Incoming messages handled at once per worker process (the `inbound` queue)'),
  ),
  INBOUND_ATTEMPTS: int(
    6,
    1,
    50,
    s('worker', 'Attempts per incoming message when the database or a platform is briefly unavailable'),
  ),
  INBOUND_BUSY_DEPTH: int(
    2000,
    1,
    10_000_000,
    s('service', 'Incoming messages waiting beyond which people are told their request will take a while'),
  ),
  INBOUND_MAX_IN_FLIGHT: int(
    2048,
    1,
    1_000_000,
    s(
      'service',
      'Webhook requests being enqueued at once per web process; beyond it, 503 + Retry-After (a Slack slash command or Discord interaction, never sent again, is told to send it again)',
    ),
  ),
  // Slack retries within about 6 minutes, Telegram within the hour; Stripe's 3 days of retries
  // are deduplicated by the event id in the database as well.
  INBOUND_KEEP_COMPLETED_S: int(
    6 * 3600,
    60,
    30 * 24 * 3600,
    s('worker', 'How long a handled message is remembered, so a redelivery within it is the same job'),
  ),
  WORKER_QUEUES: stringWithDefault('inbound,spawn,notify,reap', {
    ...s('worker', 'Queues this worker process takes jobs from (comma-separated)'),
    pattern: /^(inbound|spawn|notify|reap)(,(inbound|spawn|notify|reap))*$/,
    expected: 'a comma-separated list of inbound, spawn, notify, reap',
  }),
  JOB_ATTEMPTS: int(3, 1, 20, s('worker', 'Attempts per spawn job for transient failures')),
  JOB_BACKOFF_MS: int(2000, 10, 600_000, s('worker', 'First retry delay (exponential) of a spawn job')),
  BUILD_TIMEOUT_MS: int(300_000, 1000, 3_600_000, s('worker', 'Longest time a build may take')),
  STORE_TIMEOUT_MS: int(30_000, 500, 600_000, s('worker', 'Longest time storing a bundle may take')),
  DEPLOY_TIMEOUT_MS: int(
    180_000,
    1000,
    3_600_000,
    s('worker', 'Longest time a deploy (to a 200 preview) may take'),
  ),
  WORKER_LOCK_MS: int(
    30_000,
    1000,
    600_000,
    s('worker', 'BullMQ lock duration; a dead worker is noticed after it'),
  ),
  WORKER_STALLED_INTERVAL_MS: int(30_000, 500, 600_000, s('worker', 'How often stalled jobs are looked for')),
  REAPER_INTERVAL_MS: int(60_000, 1000, 3_600_000, s('worker', 'How often expired sessions are reaped')),
  PROVIDER_POLL_INTERVAL_MS: int(
    600_000,
    1000,
    86_400_000,
    s(
      'worker',
      "How often the reaper lists Railway's and Render's services (one request each; Railway's free plan allows 100 an hour)",
    ),
  ),

  PLATFORM_RETRY_MIN_MS: int(
    1000,
    10,
    600_000,
    s(
      'worker',
      'First wait before a platform connection (Discord gateway, Slack Socket Mode, Telegram polling) that failed is tried again; doubled per failure',
    ),
  ),
  PLATFORM_RETRY_MAX_MS: int(
    60_000,
    100,
    3_600_000,
    s('worker', 'Longest wait between two attempts of a platform connection'),
  ),
  PLATFORM_CONNECT_TIMEOUT_MS: int(
    30_000,
    500,
    600_000,
    s('worker', 'Longest time one attempt of a platform connection may take'),
  ),

  // providers
  PROVIDER: optionalOneOf(
    ['local', 'railway', 'render'],
    s('local provider', 'Where apps run (default: railway or render when configured, else local)'),
  ),
  PROVIDER_FALLBACK: bool(
    false,
    s('local provider', 'When the chosen cloud provider is down, deploy to the other configured one'),
  ),
  LOCAL_APP_MEMORY_MB: int(
    256,
    32,
    65_536,
    s('local provider', 'Memory of each local app, all of it (its V8 heap gets three quarters)'),
  ),
  LOCAL_APP_FILE_MB: int(20, 1, 102_400, s('local provider', 'Largest file a local app may write')),
  LOCAL_APP_DISK_MB: int(100, 1, 1_048_576, s('local provider', "Size of a local app's folder")),
  LOCAL_APP_PROCESSES: int(
    64,
    16,
    65_536,
    s('local provider', 'Processes and threads of a local app (a Node app uses about 12)'),
  ),
  LOCAL_APP_CPU_PERCENT: int(
    50,
    1,
    12_800,
    s('local provider', 'CPU of a local app, in percent of one core'),
  ),
  LOCAL_PREVIEW_HOST: stringWithDefault('localhost', {
    ...s('local provider', 'Domain of the preview host names: each app is <app>.<this>'),
    pattern: /^(?=.*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)*$/i,
    expected: 'a domain name such as localhost (an IP address cannot have a name per app)',
  }),
  PREVIEW_PORT: int(
    3001,
    0,
    65_535,
    s('local provider', 'The one port every local preview is served on (0: any free port)'),
  ),
  LOCAL_SANDBOX_BWRAP: stringWithDefault(
    'bwrap',
    s('local provider', 'The bubblewrap program that sandboxes local apps (a path, or a name on PATH)'),
  ),
  LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX: bool(
    false,
    s(
      'local provider',
      'Run apps written by Claude on this machine even where no sandbox can be had (they can reach all the service can)',
    ),
  ),

  OFFLINE_BUILD_STEP_MS: int(
    0,
    0,
    60_000,
    s('worker', 'Pause per file in the offline builder, to watch progress in demos'),
  ),

  // Claude
  ANTHROPIC_API_KEY: optionalString(s('Claude', 'Claude writes the apps (unset: offline builder)', true)),
  ANTHROPIC_BASE_URL: urlWithDefault(
    'https://api.anthropic.com',
    HTTP,
    s('Claude', 'Anthropic API base URL'),
  ),
  ANTHROPIC_MODEL: stringWithDefault(
    'claude-sonnet-5-5',
    s('Claude', 'Model that writes the apps (claude-sonnet-5-5 and claude-haiku-5-5 are known)'),
  ),
  ANTHROPIC_EFFORT: oneOf(
    ['low', 'medium', 'high', 'xhigh', 'max'],
    'medium',
    s('Claude', 'How hard the model thinks (output_config.effort); thinking tokens count as output'),
  ),
  ANTHROPIC_TIMEOUT_MS: int(600_000, 1000, 3_600_000, s('Claude', 'Timeout of one Anthropic request')),
  BUILD_MAX_OUTPUT_TOKENS: int(32_000, 256, 1_000_000, s('Claude', 'Output token budget of one build')),
  BUILD_MAX_REPAIRS: int(
    2,
    0,
    10,
    s('Claude', 'Free plan: repair turns for an app that does not start after its deploy'),
  ),
  ANTHROPIC_PRICE_INPUT_PER_MTOK: optionalNum(
    0,
    1000,
    s('Claude', 'USD per million input tokens of a model not in the built-in table'),
  ),
  ANTHROPIC_PRICE_OUTPUT_PER_MTOK: optionalNum(
    0,
    1000,
    s('Claude', 'USD per million output tokens of a model not in the built-in table'),
  ),
  ANTHROPIC_PRICE_CACHE_WRITE_PER_MTOK: optionalNum(
    0,
    1000,
    s('Claude', 'USD per million cache-write tokens of a model not in the built-in table'),
  ),
  ANTHROPIC_PRICE_CACHE_READ_PER_MTOK: optionalNum(
    0,
    1000,
    s('Claude', 'USD per million cache-read tokens of a model not in the built-in table'),
  ),

  // Slack
  SLACK_SIGNING_SECRET: optionalString(s('Slack', 'Verifies every Slack request', true)),
  SLACK_BOT_TOKEN: optionalString({
    ...s('Slack', 'xoxb- token (single-workspace mode)', true),
    pattern: /^xoxb-/,
    expected: 'a bot token starting with xoxb-',
  }),
  SLACK_APP_TOKEN: optionalString({
    ...s('Slack', 'xapp- token: Socket Mode in the bot process', true),
    pattern: /^xapp-/,
    expected: 'an app-level token starting with xapp-',
  }),
  SLACK_CLIENT_ID: optionalString(s('Slack', 'OAuth client id (multi-workspace installs)')),
  SLACK_CLIENT_SECRET: optionalString(s('Slack', 'OAuth client secret', true)),
  SLACK_API_URL: urlWithDefault('https://slack.com/api', HTTP, s('Slack', 'Slack Web API base URL')),

  // Discord
  DISCORD_BOT_TOKEN: optionalString(s('Discord', 'Bot token (gateway and REST)', true)),
  DISCORD_APPLICATION_ID: optionalString({
    ...s('Discord', 'Application id'),
    pattern: /^\d{5,25}$/,
    expected: 'a numeric snowflake id',
  }),
  DISCORD_PUBLIC_KEY: optionalString({
    ...s('Discord', 'Ed25519 public key (hex) that verifies interactions'),
    pattern: /^[0-9a-fA-F]{64}$/,
    expected: '64 hexadecimal characters',
  }),
  DISCORD_API_URL: urlWithDefault('https://discord.com/api', HTTP, s('Discord', 'Discord REST base URL')),

  // Telegram
  TELEGRAM_BOT_TOKEN: optionalString({
    ...s('Telegram', 'Bot token from @BotFather', true),
    pattern: /^\d+:[A-Za-z0-9_-]+$/,
    expected: 'a token like 123456:ABC-xyz',
  }),
  TELEGRAM_WEBHOOK_SECRET: optionalString({
    ...s('Telegram', 'Secret token of the webhook (unset: long polling in the bot process)', true),
    pattern: /^[A-Za-z0-9_-]{1,256}$/,
    expected: '1-256 characters of A-Z a-z 0-9 _ -',
  }),
  TELEGRAM_API_ROOT: urlWithDefault('https://api.telegram.org', HTTP, s('Telegram', 'Bot API root')),
  TELEGRAM_POLL_TIMEOUT_S: int(
    30,
    1,
    50,
    s(
      'Telegram',
      'Long polling: how long one getUpdates waits for an update; a lost connection is noticed within about this long',
    ),
  ),
  TELEGRAM_STARS_PRO: optionalString({
    ...s('billing', 'Price of 30 days of Pro in Telegram Stars (Stars payments on when set)'),
    pattern: /^[1-9]\d{0,5}$/,
    expected: 'a whole number of Stars',
  }),
  TELEGRAM_STARS_TEAM: optionalString({
    ...s('billing', 'Price of 30 days of Team in Telegram Stars'),
    pattern: /^[1-9]\d{0,5}$/,
    expected: 'a whole number of Stars',
  }),
  TELEGRAM_STARS_EXTEND: optionalString({
    ...s('billing', 'Price of one extension (EXTEND_HOURS) in Telegram Stars'),
    pattern: /^[1-9]\d{0,5}$/,
    expected: 'a whole number of Stars',
  }),
  TELEGRAM_STARS_CREDITS: optionalString({
    ...s('billing', 'Price of a credit pack in Telegram Stars'),
    pattern: /^[1-9]\d{0,5}$/,
    expected: 'a whole number of Stars',
  }),

  // Stripe
  STRIPE_SECRET_KEY: optionalString(s('Stripe', 'Billing on (unset: billing off)', true)),
  STRIPE_WEBHOOK_SECRET: optionalString({
    ...s('Stripe', 'whsec_ secret that verifies /stripe/webhook', true),
    pattern: /^whsec_/,
    expected: 'a secret starting with whsec_',
  }),
  STRIPE_API_URL: urlWithDefault('https://api.stripe.com', HTTP, s('Stripe', 'Stripe API base URL')),
  STRIPE_PRICE_PRO: optionalString({
    ...s('billing', 'Stripe Price id of the Pro subscription'),
    pattern: /^price_/,
    expected: 'a Stripe Price id (price_...)',
  }),
  STRIPE_PRICE_TEAM: optionalString({
    ...s('billing', 'Stripe Price id of the Team subscription'),
    pattern: /^price_/,
    expected: 'a Stripe Price id (price_...)',
  }),
  STRIPE_PRICE_EXTEND: optionalString({
    ...s('billing', 'Stripe Price id of one paid extension (EXTEND_HOURS)'),
    pattern: /^price_/,
    expected: 'a Stripe Price id (price_...)',
  }),
  STRIPE_PRICE_CREDITS: optionalString({
    ...s('billing', 'Stripe Price id of a credit pack (CREDITS_PER_PACK extra builds)'),
    pattern: /^price_/,
    expected: 'a Stripe Price id (price_...)',
  }),
  EXTEND_HOURS: int(2, 1, 24 * 30, s('billing', 'Hours one paid extension adds to a session')),
  CHECKOUT_SESSIONS_PER_HOUR: int(
    10,
    1,
    1000,
    s('billing', 'New Stripe Checkout Sessions one person may open per hour (an open one is reused)'),
  ),
  CREDITS_PER_PACK: int(20, 1, 100_000, s('billing', 'Extra builds in one credit pack')),
  PLANS_JSON: optionalParsed(
    plansJsonSchema,
    'JSON like {"pro": {"liveSessions": 5, "spawnsPerHour": 120}} with plans free, pro, team and known limit names',
    s('billing', "Overrides of the plans' limits (see src/billing/plans.ts for the defaults)"),
  ),
  HOSTING_USD_PER_HOUR: num(
    0.01,
    0,
    100,
    s('billing', 'Estimated hosting cost of one cloud app per hour, for spend caps'),
  ),
  RATE_LIMIT_PER_IP_PER_MINUTE: int(
    600,
    1,
    1_000_000,
    s('service', 'Requests per minute one IP may send to public endpoints'),
  ),

  // Railway
  RAILWAY_API_TOKEN: optionalString(
    s('Railway', 'Account, workspace or project token (see RAILWAY_TOKEN_TYPE)', true),
  ),
  RAILWAY_TOKEN_TYPE: oneOf(
    ['account', 'workspace', 'project'],
    'account',
    s(
      'Railway',
      'Kind of RAILWAY_API_TOKEN: account and workspace tokens go as Bearer, a project token as Project-Access-Token',
    ),
  ),
  RAILWAY_PROJECT_ID: optionalString(s('Railway', 'Project that holds the spawned services')),
  RAILWAY_ENVIRONMENT_ID: optionalString(s('Railway', 'Environment of that project')),
  RAILWAY_API_URL: urlWithDefault(
    'https://backboard.railway.com/graphql/v2',
    HTTP,
    s('Railway', 'Railway GraphQL endpoint'),
  ),

  // Render
  RENDER_API_KEY: optionalString(s('Render', 'API key', true)),
  RENDER_OWNER_ID: optionalString(s('Render', 'Workspace (owner) id of the spawned services')),
  RENDER_API_URL: urlWithDefault('https://api.render.com/v1', HTTP, s('Render', 'Render REST base URL')),
  RENDER_REGION: oneOf(
    ['oregon', 'ohio', 'virginia', 'frankfurt', 'singapore'],
    'oregon',
    s('Render', 'Region of the spawned services'),
  ),
  RENDER_PLAN: stringWithDefault('starter', s('Render', 'Instance type of the spawned services')),
  RENDER_REGISTRY_CREDENTIAL_ID: optionalString(
    s('Render', 'Registry credential (Render dashboard or API) that pulls a private RUNTIME_IMAGE'),
  ),
  RENDER_MAX_CREATES_PER_HOUR: int(
    20,
    1,
    10_000,
    s('Render', 'New services per hour SpawnAI may create (Render allows 20); counted in Redis'),
  ),

  // Supabase
  SUPABASE_URL: optionalUrl(HTTP, s('Supabase', 'Project URL (bundles go to Supabase Storage when set)')),
  SUPABASE_SERVICE_ROLE_KEY: optionalString(s('Supabase', 'Service role key', true)),
  SUPABASE_BUCKET: stringWithDefault('bundles', s('Supabase', 'Storage bucket of the bundles')),

  // runtime
  RUNTIME_IMAGE: stringWithDefault(
    'ghcr.io/spawnai/runtime:1',
    s('runtime', 'Image that runs a bundle on Railway/Render (public, or see the registry variables)'),
  ),
  RUNTIME_IMAGE_REGISTRY_USERNAME: optionalString(
    s('runtime', 'Registry user that pulls a private RUNTIME_IMAGE on Railway (Railway Pro plan)'),
  ),
  RUNTIME_IMAGE_REGISTRY_PASSWORD: optionalString(
    s('runtime', 'Registry password or token for RUNTIME_IMAGE_REGISTRY_USERNAME', true),
  ),

  // observability
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(HTTP, s('observability', 'OpenTelemetry traces (off when unset)')),
} as const satisfies Record<string, VarSpec>;

export type VarName = keyof typeof VARS;
