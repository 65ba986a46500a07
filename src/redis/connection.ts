import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';
import { CoalescingRedis } from './coalescing.js';

export type { Redis } from 'ioredis';

/**
 * - `worker`: BullMQ workers and blocking reads; commands wait through reconnects
 *   (`maxRetriesPerRequest: null`, as BullMQ requires).
 * - `client`: producers and everything else; a command fails after a few reconnect
 *   attempts instead of hanging a request.
 * - `subscriber`: pub/sub listeners.
 */
export type RedisRole = 'worker' | 'client' | 'subscriber';

export function createRedis(
  url: string,
  role: RedisRole,
  logger?: Logger,
  extra: { coalesceWrites?: boolean } = {},
): Redis {
  // CoalescingRedis is a Redis<'legacy'>: its constructor takes only the legacy reply mapping.
  const options: RedisOptions & { replyMapping?: 'legacy' } = {
    connectionName: `spawnai-${role}`,
    maxRetriesPerRequest: role === 'client' ? 3 : null,
    connectTimeout: 5000,
    // BullMQ's default backoff: grow with attempts, between 1 s and 20 s.
    retryStrategy: (times) => Math.max(Math.min(Math.exp(times), 20_000), 1000),
  };
  // Commands issued in the same turn go out in one write: the webhook path's enqueues under load.
  const redis = extra.coalesceWrites ? new CoalescingRedis(url, options) : new Redis(url, options);
  let lastError = '';
  redis.on('error', (e: Error) => {
    // ioredis repeats the same error on every reconnect attempt; log changes only.
    if (e.message !== lastError) logger?.warn({ err: e.message, role }, 'redis connection error');
    lastError = e.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });
  return redis;
}

/** Connects once, without retries; resolves when the server answers PING. */
export async function probeRedis(url: string, timeoutMs = 2000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

/** A Redis URL with its password replaced, safe for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}
