import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config, VarName } from '../config/index.js';
import { migrationAdvice, openDatabase } from '../db/client.js';
import { probeRedis, redactUrl } from '../redis/connection.js';

import { probeRailway, probeRender } from './cloud.js';
import { probeStripe } from './stripe.js';
import type { CheckResult } from './types.js';

export type { CheckResult, CheckState } from './types.js';

export interface Check {
  readonly name: string;
  /** Variables that switch the integration on; none set means "off". */
  readonly switches: readonly VarName[];
  /** Variables it needs once switched on. */
  readonly requires: readonly VarName[];
  /** Groups of variables of which it needs at least one each, once switched on. */
  readonly requiresOneOf?: readonly (readonly VarName[])[];
  /** One cheap call proving the credentials work. */
  probe?(config: Config, fetchImpl: typeof fetch): Promise<CheckResult>;
}

const TIMEOUT_MS = 5000;

async function http(
  name: string,
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  okWhen: (status: number, body: unknown) => boolean = (s) => s === 200,
): Promise<CheckResult> {
  try {
    const res = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body: unknown = await res.json().catch(() => undefined);
    if (okWhen(res.status, body))
      return { name, state: 'ok', detail: `credentials accepted by ${new URL(url).host}` };
    if (res.status === 401 || res.status === 403 || res.status === 200) {
      return {
        name,
        state: 'rejected',
        detail: `credentials rejected by ${new URL(url).host} (HTTP ${res.status})`,
      };
    }
    return { name, state: 'unreachable', detail: `${new URL(url).host} answered HTTP ${res.status}` };
  } catch (e) {
    return {
      name,
      state: 'unreachable',
      detail: `${new URL(url).host}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

export const CHECKS: readonly Check[] = [
  {
    name: 'claude',
    switches: ['ANTHROPIC_API_KEY'],
    requires: ['ANTHROPIC_API_KEY'],
    // Through the SDK, as builds reach the API: "key works" or "key rejected", never the key.
    probe: async (c, f) => {
      const { probeClaude } = await import('../builder/claude/doctor.js');
      return { name: 'claude', ...(await probeClaude(c, f)) };
    },
  },
  {
    name: 'slack',
    switches: ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_CLIENT_ID', 'SLACK_APP_TOKEN'],
    requires: [],
    // A way in (HTTP events or Socket Mode) and a token source (one workspace or OAuth installs).
    requiresOneOf: [
      ['SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN'],
      ['SLACK_BOT_TOKEN', 'SLACK_CLIENT_ID'],
    ],
    probe: async (c, f) => {
      if (!c.SLACK_BOT_TOKEN) {
        return { name: 'slack', state: 'ok', detail: 'multi-workspace install mode (tokens per workspace)' };
      }
      return http(
        'slack',
        f,
        `${c.SLACK_API_URL}/auth.test`,
        { method: 'POST', headers: { authorization: `Bearer ${c.SLACK_BOT_TOKEN}` } },
        (s, b) => s === 200 && (b as { ok?: boolean } | undefined)?.ok === true,
      );
    },
  },
  {
    name: 'discord',
    switches: ['DISCORD_BOT_TOKEN', 'DISCORD_APPLICATION_ID', 'DISCORD_PUBLIC_KEY'],
    requires: ['DISCORD_BOT_TOKEN', 'DISCORD_APPLICATION_ID', 'DISCORD_PUBLIC_KEY'],
    probe: (c, f) =>
      http('discord', f, `${c.DISCORD_API_URL}/v10/users/@me`, {
        headers: { authorization: `Bot ${c.DISCORD_BOT_TOKEN}` },
      }),
  },
  {
    name: 'telegram',
    switches: ['TELEGRAM_BOT_TOKEN'],
    requires: ['TELEGRAM_BOT_TOKEN'],
    probe: (c, f) =>
      http(
        'telegram',
        f,
        `${c.TELEGRAM_API_ROOT}/bot${c.TELEGRAM_BOT_TOKEN}/getMe`,
        {},
        (s, b) => s === 200 && (b as { ok?: boolean } | undefined)?.ok === true,
      ),
  },
  {
    name: 'stripe',
    switches: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'],
    requires: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'],
    // The key, then the webhook endpoint: its URL, its API version and the events it sends.
    probe: probeStripe,
  },
  {
    name: 'railway',
    switches: ['RAILWAY_API_TOKEN', 'RAILWAY_PROJECT_ID'],
    requires: ['RAILWAY_API_TOKEN', 'RAILWAY_PROJECT_ID', 'RAILWAY_ENVIRONMENT_ID'],
    probe: probeRailway,
  },
  {
    name: 'render',
    switches: ['RENDER_API_KEY', 'RENDER_OWNER_ID'],
    requires: ['RENDER_API_KEY', 'RENDER_OWNER_ID'],
    probe: probeRender,
  },
  {
    name: 'supabase',
    switches: ['SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY'],
    requires: ['SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY'],
    probe: (c, f) =>
      http('supabase', f, `${c.SUPABASE_URL}/storage/v1/bucket/${encodeURIComponent(c.SUPABASE_BUCKET)}`, {
        headers: {
          apikey: c.SUPABASE_SERVICE_ROLE_KEY ?? '',
          authorization: `Bearer ${c.SUPABASE_SERVICE_ROLE_KEY}`,
        },
      }),
  },
];

export async function checkDatabase(config: Config): Promise<CheckResult> {
  const where = config.DATABASE_URL
    ? 'Postgres (DATABASE_URL)'
    : `PGlite in ${path.join(config.DATA_DIR, 'db')}`;
  try {
    const db = await openDatabase({
      url: config.DATABASE_URL,
      pgliteDir: path.join(config.DATA_DIR, 'db'),
      poolMax: 1,
    });
    try {
      await db.ping(5000);
      const pending = await db.pendingMigrations();
      const advice = migrationAdvice(config.DATABASE_URL, config.DATABASE_DIRECT_URL);
      return {
        name: 'database',
        state: 'ok',
        detail: `${where}; ${pending === 0 ? 'migrations up to date' : `${pending} migration(s) to apply: run spawnai migrate`}${config.DATABASE_DIRECT_URL ? '; migrations use DATABASE_DIRECT_URL' : ''}${advice ? `; ${advice}` : ''}`,
      };
    } finally {
      await db.close();
    }
  } catch (e) {
    return {
      name: 'database',
      state: 'unreachable',
      detail: `${where}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

export async function checkRedisServer(config: Config): Promise<CheckResult> {
  try {
    await probeRedis(config.REDIS_URL, 3000);
    return { name: 'redis', state: 'ok', detail: redactUrl(config.REDIS_URL) };
  } catch (e) {
    const hint = config.REDIS_URL_SET ? '' : ' (`spawnai start` would start a private redis-server)';
    return {
      name: 'redis',
      state: 'unreachable',
      detail: `${redactUrl(config.REDIS_URL)}: ${e instanceof Error ? e.message : String(e)}${hint}`,
    };
  }
}

/** A short-lived Redis client for one check: fails fast, never reconnects in the background. */
export async function withCheckRedis(
  config: Config,
  name: string,
  probe: (redis: Redis) => Promise<CheckResult>,
): Promise<CheckResult> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    lazyConnect: true,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await probe(redis);
  } catch (e) {
    return { name, state: 'unreachable', detail: e instanceof Error ? e.message : String(e) };
  } finally {
    redis.disconnect();
  }
}

/** Queue depth and the oldest waiting job of each queue (a stuck worker shows here first). */
export async function checkQueues(config: Config, now = Date.now()): Promise<CheckResult> {
  const { Queue } = await import('bullmq');
  return withCheckRedis(config, 'queues', async (redis) => {
    const parts: string[] = [];
    let stale = false;
    for (const name of ['inbound', 'spawn', 'notify', 'reap']) {
      const queue = new Queue(name, { connection: redis, prefix: config.QUEUE_PREFIX });
      try {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
        const [oldest] = await queue.getJobs(['waiting'], 0, 0, true);
        const age = oldest ? Math.round((now - oldest.timestamp) / 1000) : undefined;
        if (age !== undefined && age > 300) stale = true;
        parts.push(
          `${name}: ${counts.waiting} waiting, ${counts.active} active, ${counts.delayed} delayed, ${counts.failed} failed${age !== undefined ? `, oldest waiting ${age} s` : ''}`,
        );
      } finally {
        await queue.close();
      }
    }
    return {
      name: 'queues',
      state: stale ? 'incomplete' : 'ok',
      detail: `${parts.join('; ')}${stale ? ' (a job waits over 5 min: are workers running?)' : ''}`,
    };
  });
}
