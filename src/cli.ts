#!/usr/bin/env node
import path from 'node:path';
import type { App, Roles } from './app.js';
import { type Config, ConfigError, DEFAULT_REDIS_URL, loadConfig } from './config/index.js';
import { StartupError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { probeRedis } from './redis/connection.js';
import {
  HOW_TO_GET_REDIS,
  type LocalRedis,
  RedisUnavailableError,
  startLocalRedis,
} from './redis/local-server.js';

/**
 * The application, the database driver, the doctor and the platform SDKs are loaded only by
 * the command that needs them: a mistyped variable or command is answered at once, not after
 * every SDK has loaded.
 */
const loadPlatformCommands = async () => (await import('../adapters/commands.js')).PLATFORM_COMMANDS;

async function usage(): Promise<string> {
  const platformCommands = await loadPlatformCommands();
  return `Usage: spawnai <command>

Commands:
  start     everything in one process on embedded defaults (web chat at http://localhost:$PORT)
  web       the HTTP server: webhooks, web chat, health, metrics, admin
  worker    the BullMQ workers: spawn, notify, reaper
  bot       long-lived platform connections (Discord gateway, Slack Socket Mode, Telegram polling)
  migrate   apply database migrations and exit
  doctor    check every integration's configuration and reachability (prints no secrets);
            ("doctor stripe railway" checks only those)
${platformCommands.flatMap((c) => c.usage.map((u) => `  ${u}`)).join('\n')}
  help      this message
`.replace(/\n\n {2}help/, '\n  help');
}

const ROLES: Record<string, Roles> = {
  start: { web: true, worker: true, bot: true, migrate: true },
  web: { web: true, worker: false, bot: false, migrate: false },
  worker: { web: false, worker: true, bot: false, migrate: false },
  bot: { web: false, worker: false, bot: true, migrate: false },
};

function fail(message: string): never {
  process.stderr.write(`spawnai: ${message}\n`);
  process.exit(1);
}

/**
 * `start` on a fresh machine: use REDIS_URL, else 127.0.0.1:6379, else a private
 * redis-server; with none of them, say exactly how to get Redis.
 */
async function resolveRedis(
  config: Config,
  command: string,
  logger: Logger,
): Promise<{ url: string; local?: LocalRedis }> {
  if (config.REDIS_URL_SET || command !== 'start') return { url: config.REDIS_URL };
  try {
    await probeRedis(DEFAULT_REDIS_URL, 1000);
    return { url: DEFAULT_REDIS_URL };
  } catch {
    const local = await startLocalRedis(path.join(config.DATA_DIR, 'redis'), logger);
    return { url: local.url, local };
  }
}

async function serve(command: string, config: Config): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL);
  const roles = ROLES[command]!;
  const { url: redisUrl, local } = await resolveRedis(config, command, logger);
  let app: App | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return stopping;
    logger.info({ signal }, 'shutting down');
    // Whatever hangs, the process ends: a little after the configured deadline.
    setTimeout(() => process.exit(0), config.SHUTDOWN_TIMEOUT_MS + 1500).unref();
    stopping = (async () => {
      await app?.stop().catch((e: unknown) => logger.error({ err: String(e) }, 'error while stopping'));
      await local?.stop();
      logger.info('stopped');
      logger.flush?.();
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));
  process.once('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));
  try {
    const { createApp } = await import('./app.js');
    app = await createApp(config, roles, logger, redisUrl);
    await app.start();
  } catch (e) {
    await app?.stop().catch(() => {});
    await local?.stop();
    throw e;
  }
  if (command === 'start') {
    logger.info(
      { url: `http://localhost:${config.PORT}` },
      `SpawnAI is running: open http://localhost:${config.PORT}`,
    );
  } else {
    logger.info({ roles }, 'SpawnAI is running');
  }
}

async function migrate(config: Config): Promise<void> {
  const { migrationAdvice, openDatabase } = await import('./db/client.js');
  const advice = migrationAdvice(config.DATABASE_URL, config.DATABASE_DIRECT_URL);
  if (advice) process.stderr.write(`spawnai: ${advice}\n`);
  const db = await openDatabase({
    url: config.DATABASE_URL,
    pgliteDir: path.join(config.DATA_DIR, 'db'),
    poolMax: 2,
    migrationUrl: config.DATABASE_DIRECT_URL,
    migrationLockTimeoutMs: config.DATABASE_MIGRATION_LOCK_TIMEOUT_MS,
  }).catch((e: unknown) => {
    throw new StartupError(`DATABASE_URL: cannot connect (${e instanceof Error ? e.message : String(e)})`);
  });
  try {
    const pending = await db.pendingMigrations();
    await db.migrate();
    process.stdout.write(`spawnai: ${pending} migration(s) applied; the ${db.kind} database is up to date\n`);
  } finally {
    await db.close();
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0] ?? 'help';
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(await usage());
    return;
  }
  let config: Config;
  try {
    // The only place SpawnAI reads the environment.
    // biome-ignore lint/style/noProcessEnv: the composition's single entry point
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  try {
    const platform = (await loadPlatformCommands()).find((c) => c.name === command);
    if (command in ROLES) {
      if (config.REDIS_URL_SET) await (await import('./app.js')).checkRedis(config.REDIS_URL);
      await serve(command, config);
    } else if (command === 'migrate') {
      await migrate(config);
    } else if (platform) {
      await platform.run(argv.slice(1), config, (text) => process.stdout.write(text));
    } else if (command === 'doctor') {
      const { doctorFailed, formatDoctor, runDoctor, UnknownCheckError } = await import('./doctor/index.js');
      const results = await runDoctor(config, fetch, argv.slice(1)).catch((e: unknown) => {
        if (e instanceof UnknownCheckError) fail(e.message);
        throw e;
      });
      process.stdout.write(formatDoctor(results, config));
      if (doctorFailed(results)) process.exitCode = 1;
    } else {
      fail(`unknown command "${command}"\n\n${await usage()}`);
    }
  } catch (e) {
    if (e instanceof StartupError) fail(e.message);
    if (e instanceof RedisUnavailableError)
      fail(e.message === HOW_TO_GET_REDIS ? `\n${e.message}` : e.message);
    throw e;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(
    `spawnai: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
