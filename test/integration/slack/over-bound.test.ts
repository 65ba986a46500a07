import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createSlackIngest, type SlackRequest } from '../../../adapters/slack/ingest.js';
import { slackSignature } from '../../../adapters/slack/verify.js';
import { TOO_BUSY_NOTE } from '../../../bots/busy.js';
import { isSpawnError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { InboundQueue } from '../../../src/queue/inbound.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';

const SECRET = 'over-bound-signing-secret';
const prefix = `t-overbound-${randomUUID().slice(0, 8)}`;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const inbound = new InboundQueue(
  redis,
  { prefix, attempts: 1, keepCompletedS: 60, busyDepth: 100, maxInFlight: 1 },
  silentLogger(),
);
const ingest = createSlackIngest({ signingSecret: SECRET, inbound, logger: silentLogger() });

afterAll(async () => {
  await inbound.queue.close();
  redis.disconnect();
  await cleanupPrefix(prefix);
});

function signed(body: string, contentType: string, secret = SECRET): SlackRequest {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    rawBody: Buffer.from(body),
    contentType,
    timestamp,
    signature: slackSignature(secret, timestamp, body),
    admission: 'told',
  };
}

const command = () =>
  new URLSearchParams({
    team_id: 'T0OVER',
    channel_id: 'C0OVER',
    user_id: 'U0OVER',
    command: '/spawn',
    text: 'a sundial for the over-bound test',
    response_url: 'https://hooks.slack.com/commands/T0OVER/1/x',
    trigger_id: `${Date.now()}.1.${randomUUID()}`,
  }).toString();

const event = () =>
  JSON.stringify({
    type: 'event_callback',
    team_id: 'T0OVER',
    api_app_id: 'A0OVER',
    event_id: `Ev${randomUUID().slice(0, 8)}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'app_mention', user: 'U0OVER', text: '<@U0BOT> a sundial', ts: '1.2', channel: 'C0OVER' },
  });

async function refusal(request: SlackRequest) {
  try {
    await ingest(request);
  } catch (e) {
    if (isSpawnError(e)) return { code: e.code, status: e.status, retryAfterMs: e.retryAfterMs };
    throw e;
  }
  throw new Error('expected the request to be refused');
}

const queued = async () =>
  Object.values(await inbound.queue.getJobCounts()).reduce((n: number, c: number) => n + c, 0);

describe('a Slack request let in over the in-flight bound (admission "told")', () => {
  it('answers a slash command, privately, that it was not taken, and queues nothing', async () => {
    const answer = await ingest(signed(command(), 'application/x-www-form-urlencoded'));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      response_type: 'ephemeral',
      text: expect.stringContaining(TOO_BUSY_NOTE),
    });
    expect(await queued()).toBe(0);
  });

  it('refuses an event with 503 and Retry-After, which Slack delivers again, and queues nothing', async () => {
    expect(await refusal(signed(event(), 'application/json'))).toEqual({
      code: 'ERR_OVERLOADED',
      status: 503,
      retryAfterMs: 1000,
    });
    expect(await queued()).toBe(0);
  });

  it('verifies first: a forged command or event is 401, not told anything', async () => {
    for (const [body, type] of [
      [command(), 'application/x-www-form-urlencoded'],
      [event(), 'application/json'],
    ] as const) {
      expect(await refusal(signed(body, type, 'not-the-signing-secret'))).toMatchObject({ status: 401 });
    }
    expect(await queued()).toBe(0);
  });
});
