import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SpawnError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import {
  INBOUND_ENQUEUE_TIMEOUT_MS,
  INBOUND_RETRY_AFTER_MS,
  InboundQueue,
} from '../../../src/queue/inbound.js';
import { createRedis } from '../../../src/redis/connection.js';
import { usePrivateRedis } from '../../helpers/redis.js';

/** Slack's deadline for an answer; the other platforms' are longer. */
const SLACK_ACK_DEADLINE_MS = 3_000;

// A private redis-server: CLIENT PAUSE holds every client of the server, not only this test's.
const server = usePrivateRedis('inbound-timeout');

describe('enqueueing a delivery while Redis does not answer', () => {
  it('answers 503 with Retry-After within the platform deadline, and the redelivery is the same job', async () => {
    const admin = new Redis(server.url);
    // As the web process enqueues: on a connection that coalesces writes.
    const redis = createRedis(server.url, 'client', silentLogger(), { coalesceWrites: true });
    const inbound = new InboundQueue(
      redis,
      { prefix: 'timeout', attempts: 1, keepCompletedS: 60, busyDepth: 100, maxInFlight: 10 },
      silentLogger(),
    );
    try {
      await inbound.enqueue('slack', 'Ev-warm', 'event', { n: 0 });
      const pauseMs = INBOUND_ENQUEUE_TIMEOUT_MS + 2_000;
      await admin.client('PAUSE', pauseMs, 'ALL');
      const started = Date.now();
      const refused = await inbound.enqueue('slack', 'Ev-held', 'event', { n: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const answeredAfterMs = Date.now() - started;

      expect(refused).toBeInstanceOf(SpawnError);
      expect(refused).toMatchObject({
        code: 'ERR_QUEUE_UNAVAILABLE',
        status: 503,
        retryAfterMs: INBOUND_RETRY_AFTER_MS,
      });
      // Answered while Redis still held everything, and in time for Slack to take the answer.
      expect(answeredAfterMs).toBeLessThan(Math.min(pauseMs, SLACK_ACK_DEADLINE_MS));

      // The platform delivers it again once Redis answers (the admin's PING waits out the
      // pause): the add that was held lands then, and the redelivery must not make a second job.
      await admin.ping();
      await expect(inbound.enqueue('slack', 'Ev-held', 'event', { n: 1 })).resolves.toMatchObject({
        jobId: InboundQueue.jobId('slack', 'Ev-held'),
      });
      const counts = await inbound.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
      expect(Object.values(counts).reduce((n, c) => n + c, 0)).toBe(2);
      const held = await inbound.queue.getJob(InboundQueue.jobId('slack', 'Ev-held'));
      expect(held?.data.payload).toEqual({ n: 1 });
    } finally {
      await inbound.close();
      redis.disconnect();
      admin.disconnect();
    }
  });
});
