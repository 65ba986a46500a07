import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { freePort } from '../util/free-port.js';
import { sleep } from '../util/time.js';
import { probeRedis } from './connection.js';

/** What to do when no Redis answers and there is no redis-server to start. */
export const HOW_TO_GET_REDIS = [
  'SpawnAI needs Redis and none answers on 127.0.0.1:6379, and there is no redis-server on PATH.',
  'Get one of these, then run the command again (or set REDIS_URL):',
  '  Debian/Ubuntu:   sudo apt-get install -y redis-server',
  '  macOS:           brew install redis && brew services start redis',
  '  docker compose:  docker compose up -d redis',
].join('\n');

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

export interface LocalRedis {
  url: string;
  stop(): Promise<void>;
}

export function redisServerOnPath(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Starts a private `redis-server` on a free port with its data in `dir`
 * (AOF on, `noeviction` as BullMQ requires). `stop()` ends it.
 */
export async function startLocalRedis(dir: string, logger: Logger): Promise<LocalRedis> {
  if (!redisServerOnPath()) throw new RedisUnavailableError(HOW_TO_GET_REDIS);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      path.resolve(dir),
      '--appendonly',
      'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let exited = false;
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new RedisUnavailableError(`redis-server exited at start: ${stderr.trim()}`);
    try {
      await probeRedis(url, 500);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new RedisUnavailableError('redis-server did not answer within 10 s');
      }
      await sleep(100);
    }
  }
  logger.info({ port, dir }, 'started a private redis-server');
  return {
    url,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
