import { plansJsonSchema } from './plans-schema.js';
import {
  bool,
  int,
  num,
  oneOf,
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
  HOST: stringWithDefault('0.0.0.0', s('service', 'Interface the web process listens on')),
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

  // providers
  PROVIDER: optionalOneOf(
    ['local', 'railway', 'render'],
    s('local provider', 'Where apps run (default: railway or render when configured, else local)'),
  ),
  PROVIDER_FALLBACK: bool(
    false,
    s('local provider', 'When the chosen cloud provider is down, deploy to the other configured one'),
  ),
  LOCAL_APP_MEMORY_MB: int(128, 16, 8192, s('local provider', 'Heap cap of each local app')),
  LOCAL_PREVIEW_HOST: stringWithDefault(
    'localhost',
    s('local provider', 'Host name used in local preview URLs'),
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
  ANTHROPIC_MODEL: stringWithDefault('claude-sonnet-5-5', s('Claude', 'Model that writes the apps')),
  ANTHROPIC_TIMEOUT_MS: int(600_000, 1000, 3_600_000, s('Claude', 'Timeout of one Anthropic request')),
  BUILD_MAX_OUTPUT_TOKENS: int(32_000, 256, 1_000_000, s('Claude', 'Output token budget of one build')),
  ANTHROPIC_PRICE_INPUT_PER_MTOK: num(3, 0, 1000, s('Claude', 'USD per million input tokens')),
  ANTHROPIC_PRICE_OUTPUT_PER_MTOK: num(15, 0, 1000, s('Claude', 'USD per million output tokens')),
  ANTHROPIC_PRICE_CACHE_WRITE_PER_MTOK: num(3.75, 0, 1000, s('Claude', 'USD per million cache-write tokens')),
  ANTHROPIC_PRICE_CACHE_READ_PER_MTOK: num(0.3, 0, 1000, s('Claude', 'USD per million cache-read tokens')),

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
  RAILWAY_API_TOKEN: optionalString(s('Railway', 'Account or workspace token', true)),
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
    s('runtime', 'Image that runs a bundle on Railway/Render'),
  ),

  // observability
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(HTTP, s('observability', 'OpenTelemetry traces (off when unset)')),
} as const satisfies Record<string, VarSpec>;

export type VarName = keyof typeof VARS;
