import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type LocalRedis, startLocalRedis } from '../../src/redis/local-server.js';
import { TEST_REDIS_URL } from './env.js';

/** Deletes every key a test wrote under its queue prefix. */
export async function cleanupPrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A redis-server of the calling test file's own, started before its tests and stopped after:
 * for tests that pause the server or read its counters, which the shared one cannot give them.
 */
export function usePrivateRedis(name: string): { readonly url: string } {
  let server: LocalRedis | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `spawnai-${name}-`));
    server = await startLocalRedis(dir, silentLogger());
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get url() {
      if (!server) throw new Error('the private redis-server is not started yet');
      return server.url;
    },
  };
}
