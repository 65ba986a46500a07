// The peer of bench/ingest.ts: a bare @slack/bolt app (its default HTTPReceiver on node:http)
// that verifies each request, adds one BullMQ job and acknowledges. Plain JavaScript, run by
// node itself, so nothing but Bolt and BullMQ is measured.
import { createHash } from 'node:crypto';
import bolt from '@slack/bolt';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const { App, LogLevel } = bolt;
const port = Number(process.env.PORT);
const connection = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const queue = new Queue('inbound', {
  connection,
  prefix: process.env.QUEUE_PREFIX,
  defaultJobOptions: { removeOnComplete: { age: 3 * 24 * 3600 } },
});
const app = new App({
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  token: 'xoxb-bench-peer',
  tokenVerificationEnabled: false,
  botId: 'B0PEER',
  botUserId: 'U0PEER',
  logLevel: LogLevel.ERROR,
});
app.command('/spawn', async ({ command, ack }) => {
  const jobId = `in-slack-${createHash('sha256').update(command.trigger_id).digest('hex').slice(0, 32)}`;
  await queue.add('command', { command }, { jobId });
  await ack();
});
await app.start(port);
process.stdout.write(`peer listening on ${port}\n`);
process.on('SIGTERM', async () => {
  await app.stop();
  await queue.close();
  connection.disconnect();
  process.exit(0);
});
