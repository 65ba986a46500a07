import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { probeRedis } from '../../../src/redis/connection.js';
import { redisServerOnPath } from '../../../src/redis/local-server.js';
import { freePort } from '../../../src/util/free-port.js';
import { until } from '../../helpers/app.js';
import { type RunningCli, startCli, waitForHttp } from '../../helpers/cli.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/** A private redis-server with no persistence at all: a restart comes back empty. */
async function startEmptyRedis(port: number): Promise<ChildProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'spawnai-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await until(`redis-server on ${port}`, async () =>
    probeRedis(`redis://127.0.0.1:${port}`, 500).then(
      () => true,
      () => undefined,
    ),
  );
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const REAPER_PERIOD_MS = 4000;

let cli: RunningCli | undefined;
let redis: ChildProcess | undefined;
afterEach(async () => {
  if (cli && cli.child.exitCode === null) cli.child.kill('SIGKILL');
  await cli?.exited;
  if (redis) await stopRedis(redis);
  cli = undefined;
  redis = undefined;
});

describe('spawnai start: Redis loses its data mid-run', () => {
  it('puts the reaper schedule back and finishes the builds whose jobs were lost, within one reaper period', async () => {
    if (!redisServerOnPath()) throw new Error('this test needs redis-server on PATH');
    const port = await freePort();
    const redisUrl = `redis://127.0.0.1:${port}`;
    redis = await startEmptyRedis(port);
    cli = await startCli(['start'], {
      REDIS_URL: redisUrl,
      REAPER_INTERVAL_MS: String(REAPER_PERIOD_MS),
      WORKER_LOCK_MS: '3000',
      // One build at a time, each slow enough to be caught running: the second waits in the queue.
      WORKER_CONCURRENCY: '1',
      OFFLINE_BUILD_STEP_MS: '1500',
    });
    await waitForHttp(`${cli.url}/ready`, 60_000);
    const queue = new Queue('reap', {
      connection: { url: redisUrl, maxRetriesPerRequest: null },
      prefix: cli.prefix,
    });
    queue.on('error', () => {});
    try {
      expect(await queue.getJobScheduler('reaper')).toBeDefined();

      // Two people ask for apps: one build runs, the other is queued behind it.
      const ann = new WebChatClient(cli.url);
      const ben = new WebChatClient(cli.url);
      await ann.open();
      await ben.open();
      const running = (await ann.send('a todo list for the allotment')).spawn!;
      const waiting = (await ben.send('a guestbook for the village fair')).spawn!;
      expect(running && waiting).toBeTruthy();
      await until('first card building', async () =>
        (await ann.cards(running.sessionId)).find((c) => c.view.progress?.stage === 'building'),
      );
      await until('second card queued', async () =>
        (await ben.cards(waiting.sessionId)).find((c) => c.view.progress?.stage === 'queued'),
      );
      expect((await ann.cards(running.sessionId)).some((c) => c.view.title.endsWith('is ready'))).toBe(false);

      // Redis restarts without persistence: every job, lock and schedule is gone.
      await stopRedis(redis);
      redis = await startEmptyRedis(port);
      const back = Date.now();
      const fresh = new Redis(redisUrl);
      expect(await fresh.dbsize()).toBe(0);
      fresh.disconnect();

      const restoredAfter = await until(
        'reaper schedule restored',
        async () => ((await queue.getJobScheduler('reaper')) ? Date.now() - back : undefined),
        REAPER_PERIOD_MS * 3,
      );
      expect(restoredAfter).toBeLessThan(REAPER_PERIOD_MS);

      // The queued build's job is back within one reaper period of Redis answering.
      const spawnQueue = new Queue('spawn', {
        connection: { url: redisUrl, maxRetriesPerRequest: null },
        prefix: cli.prefix,
      });
      spawnQueue.on('error', () => {});
      try {
        const requeuedAfter = await until(
          'lost job queued again',
          async () => ((await jobOf(spawnQueue, waiting.buildId)) ? Date.now() - back : undefined),
          REAPER_PERIOD_MS * 3,
          100,
        );
        expect(requeuedAfter).toBeLessThan(REAPER_PERIOD_MS);
      } finally {
        await spawnQueue.close();
      }

      // Each person sees their app ready, and it answers.
      for (const [client, spawned] of [
        [ann, running],
        [ben, waiting],
      ] as const) {
        const result = await until(
          `session ${spawned.sessionId} live after the reset`,
          async () =>
            (await client.cards(spawned.sessionId)).find(
              (c) => c.view.tone === 'success' && c.view.title.endsWith('is ready'),
            ),
          90_000,
        );
        const open = result.view.buttons?.find((b) => b.kind === 'link');
        const url = open?.kind === 'link' ? open.url : '';
        expect((await fetchPreview(url)).status).toBe(200);
      }
      expect(cli.output()).toContain('Redis lost its data');
      // The running build's lock went with Redis: it stopped, and ran again from the new queue, once.
      expect(cli.output()).toContain('job lost its lock');
      for (const [client, spawned] of [
        [ann, running],
        [ben, waiting],
      ] as const) {
        const results = (await client.cards(spawned.sessionId)).filter((c) =>
          c.view.title.endsWith('is ready'),
        );
        expect(results).toHaveLength(1);
      }
    } finally {
      await queue.close();
    }
  }, 240_000);
});

/** The spawn job of a build, whatever state it is in (its id is derived, not the build id). */
async function jobOf(queue: Queue, buildId: string): Promise<boolean> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized', 'wait', 'completed']);
  return jobs.some((j) => (j?.data as { buildId?: string } | undefined)?.buildId === buildId);
}
