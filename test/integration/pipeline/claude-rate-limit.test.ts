import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeAnthropic,
  finish,
  httpError,
  message,
  nodeApp,
  writeFile,
} from '../../fakes/anthropic/server.js';
import { type TestApp, until } from '../../helpers/app.js';
import { startClaudeTestApp } from '../../helpers/claude-app.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * What the job error boundary means for a build with Claude: the API's 429 with retry-after
 * (after the SDK's own two retries) delays the build without spending one of its attempts;
 * an invalid key fails it at once, with the message the person needs.
 */
let fake: FakeAnthropic;
let t: TestApp;
let redis: Redis;
beforeAll(async () => {
  ({ fake, t } = await startClaudeTestApp({ JOB_ATTEMPTS: '3' }));
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
});
afterAll(async () => {
  redis?.disconnect();
  await t?.stop();
  await fake?.stop();
});

async function resultCard(client: WebChatClient, sessionId: string, tone: 'success' | 'error') {
  return until(
    `session ${sessionId} ${tone}`,
    async () =>
      (await client.cards(sessionId)).find(
        (c) =>
          c.view.tone === tone && c.view.title.endsWith(tone === 'success' ? 'is ready' : 'build failed'),
      ),
    60_000,
  );
}

/** The spawn queue's `delayed` events of a job, from BullMQ's events stream in Redis. */
async function delayedEvents(jobId: string): Promise<{ at: number; until: number }[]> {
  const entries = await redis.xrange(`${t.app.config.QUEUE_PREFIX}:spawn:events`, '-', '+');
  return entries.flatMap(([id, fields]) => {
    const f = Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]])));
    if (f.event !== 'delayed' || f.jobId !== jobId) return [];
    return [{ at: Number(id.split('-')[0]), until: Number(f.delay) }];
  });
}

describe('a build with Claude through the job error boundary', () => {
  it('waits out a 429 with retry-after without using an attempt, then goes live', async () => {
    fake.reset();
    const limited = () => httpError(429, 'rate_limit_error', { retryAfter: '1.5' });
    fake.script(
      // The SDK retries twice itself, waiting as told; the third 429 reaches the job.
      limited(),
      limited(),
      limited(),
      message([
        ...nodeApp('Tea Timer').map((f) => writeFile(f.path, f.content, 2)),
        finish('Tea Timer', 'A timer for tea.'),
      ]),
    );
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a tea timer');
    const sessionId = sent.spawn!.sessionId;

    const live = await resultCard(client, sessionId, 'success');
    expect(live.view.text).toContain('A timer for tea.');
    const session = (await t.app.repos.sessions.get(sessionId))!;
    expect(await (await fetchPreview(session.previewUrl!)).text()).toContain('Tea Timer');

    const [build] = await t.app.repos.builds.listForSession(sessionId);
    expect(build).toMatchObject({ status: 'succeeded', attempts: 1 });
    const job = (await t.app.queues.spawn.getJob(build!.jobId))!;
    // Ran twice, one attempt made: the one that went live.
    expect(job.attemptsStarted).toBe(2);
    expect(job.attemptsMade).toBe(1);
    const delayed = await delayedEvents(build!.jobId);
    expect(delayed).toHaveLength(1);
    const due = delayed[0]!.until - delayed[0]!.at;
    expect(due).toBeGreaterThan(1000);
    expect(due).toBeLessThanOrEqual(1500 + 50);
    expect(fake.pending).toBe(0);
  });

  it('fails at once on an invalid key: one attempt of three, the person told what to fix', async () => {
    fake.reset();
    fake.setApiKey('a-rotated-key');
    try {
      const client = new WebChatClient(t.url);
      await client.open();
      const sent = await client.send('a guestbook');
      const sessionId = sent.spawn!.sessionId;
      const failed = await resultCard(client, sessionId, 'error');
      expect(failed.view.text).toContain('The AI service rejected this server’s API key (ANTHROPIC_API_KEY)');
      // The key itself is never shown.
      expect(JSON.stringify(await client.history())).not.toContain('test-key');

      const [build] = await t.app.repos.builds.listForSession(sessionId);
      expect(build).toMatchObject({ status: 'failed', errorCode: 'ERR_LLM_AUTH', attempts: 1 });
      expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('failed');
      const job = (await t.app.queues.spawn.getJob(build!.jobId))!;
      await until('the job failed', async () => (await job.getState()) === 'failed');
      const final = (await t.app.queues.spawn.getJob(build!.jobId))!;
      expect(final.attemptsMade).toBe(1);
      expect(final.failedReason).toBe('The AI service rejected our credentials.');
      expect(fake.requests).toHaveLength(1);
    } finally {
      fake.setApiKey('test-key');
    }
  });
});
