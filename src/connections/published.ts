import { hostname } from 'node:os';
import type { Logger } from '../log.js';
import type { Redis } from '../redis/connection.js';
import type { LinkStatus } from './supervisor.js';

/** How often a bot process refreshes what it says about its connections. */
export const LINK_STATUS_REFRESH_MS = 20_000;
/** A process that stopped saying anything for this long is gone; its statuses expire. */
const LINK_STATUS_TTL_S = 60;

/** A link's status as a process published it, with which process holds it. */
export interface PublishedLinkStatus extends LinkStatus {
  readonly host: string;
  readonly pid: number;
  /** When the process wrote it (ISO 8601). */
  readonly at: string;
}

function keyPattern(prefix: string): string {
  return `${prefix}:links:*`;
}

/**
 * Writes this process's connection statuses to Redis (one key per platform and process,
 * expiring), so `spawnai doctor`, which runs as a process of its own, can say which platform
 * is degraded in the running service.
 */
export function publishLinkStatuses(
  redis: Redis,
  prefix: string,
  statuses: () => readonly LinkStatus[],
  logger: Logger,
) {
  const self = `${hostname()}:${process.pid}`;
  let timer: NodeJS.Timeout | undefined;
  const write = async () => {
    const at = new Date().toISOString();
    const multi = redis.multi();
    for (const status of statuses()) {
      const value: PublishedLinkStatus = { ...status, host: hostname(), pid: process.pid, at };
      multi.set(`${prefix}:links:${status.platform}:${self}`, JSON.stringify(value), 'EX', LINK_STATUS_TTL_S);
    }
    await multi.exec();
  };
  const writeQuietly = () =>
    write().catch((e: unknown) => logger.debug({ err: String(e) }, 'connection status not published'));
  return {
    start() {
      void writeQuietly();
      timer = setInterval(() => void writeQuietly(), LINK_STATUS_REFRESH_MS);
      timer.unref();
    },
    /** Writes now (on a change of state). */
    changed() {
      if (timer) void writeQuietly();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      const keys = statuses().map((s) => `${prefix}:links:${s.platform}:${self}`);
      if (keys.length > 0) await redis.del(...keys).catch(() => 0);
    },
  };
}

/** Every connection status running processes published (for `doctor`). */
export async function readLinkStatuses(redis: Redis, prefix: string): Promise<PublishedLinkStatus[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keyPattern(prefix), 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.flatMap((v) => {
    if (!v) return [];
    try {
      return [JSON.parse(v) as PublishedLinkStatus];
    } catch {
      return [];
    }
  });
}
