import { setImmediate as turn } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createRedis } from '../../../src/redis/connection.js';
import { usePrivateRedis } from '../../helpers/redis.js';

// A private redis-server: its read counter sees this test's connection and no other test's.
const server = usePrivateRedis('coalescing');

async function readsProcessed(admin: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
}

describe('a connection that coalesces writes (the web process enqueues on one)', () => {
  it('sends the commands of one turn of the event loop in one write', async () => {
    const admin = new Redis(server.url);
    const redis = createRedis(server.url, 'client', silentLogger(), { coalesceWrites: true });
    try {
      await redis.ping();
      const before = await readsProcessed(admin);
      const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => redis.set(`k${i}`, String(i))));
      // Redis reads a socket up to 16 KB at a time: 200 small commands are one read, two at most.
      const infoItself = 1;
      expect(await readsProcessed(admin)).toBeLessThanOrEqual(before + infoItself + 2);
      expect(replies.every((r) => r === 'OK')).toBe(true);
      expect(await redis.get('k199')).toBe('199');
    } finally {
      redis.disconnect();
      admin.disconnect();
    }
  });

  it('sends the next turn without waiting for the answers to the previous one', async () => {
    const admin = new Redis(server.url);
    const redis = createRedis(server.url, 'client', silentLogger(), { coalesceWrites: true });
    try {
      await redis.ping();
      // Redis holds every answer for a while; a write that waits for one never leaves.
      await admin.client('PAUSE', 1500, 'ALL');
      const first = Promise.all([redis.incr('n'), redis.incr('n')]);
      await turn();
      const sentFirst = redis.stream.bytesWritten;
      const second = Promise.all([redis.incr('n'), redis.incr('n')]);
      await turn();
      await turn();
      expect(redis.stream.bytesWritten).toBeGreaterThan(sentFirst);
      expect([...(await first), ...(await second)]).toEqual([1, 2, 3, 4]);
    } finally {
      redis.disconnect();
      admin.disconnect();
    }
  });

  it('sends again, after reconnecting, commands whose corked write was lost with the connection', async () => {
    const redis = createRedis(server.url, 'client', silentLogger(), { coalesceWrites: true });
    try {
      await redis.ping();
      const socket = redis.stream;
      const written = Promise.all([redis.set('lost-write', 'kept'), redis.incr('lost-count')]);
      // The connection drops before the turn ends: the corked bytes never leave.
      socket.destroy();
      expect(await written).toEqual(['OK', 1]);
      expect(redis.stream).not.toBe(socket);
      expect(await redis.get('lost-write')).toBe('kept');
    } finally {
      redis.disconnect();
    }
  });

  it('adds BullMQ jobs through it as through a plain connection', async () => {
    const redis = createRedis(server.url, 'client', silentLogger(), { coalesceWrites: true });
    const queue = new Queue('coalesced', { connection: redis, prefix: 'coalescing-test' });
    try {
      const jobs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => queue.add('m', { i }, { jobId: `m-${i}` })),
      );
      // A second add with the same id is the same job (a redelivery), not a new one.
      await Promise.all(jobs.slice(0, 10).map((j) => queue.add('m', { i: -1 }, { jobId: j.id })));
      expect(await queue.getWaitingCount()).toBe(50);
      expect((await queue.getJob('m-7'))?.data).toEqual({ i: 7 });
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
