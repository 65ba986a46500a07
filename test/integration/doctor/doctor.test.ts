import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { doctorFailed, formatDoctor, runDoctor } from '../../../src/doctor/index.js';
import { runCli, uniquePrefix } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { copyPgliteTemplate } from '../../helpers/pglite-template.js';
import { cleanupPrefix } from '../../helpers/redis.js';

/**
 * The doctor in this process, as the CLI runs it (same config parsing, checks and text); the
 * one test through the real CLI below shows the exit code and the printed output.
 */
let dataDir: string;
/**
 * Queues of this file's own: the machine's Redis may hold a real install's (`spawnai`, the
 * default prefix), whose jobs the queue counts below must not see.
 */
const PREFIX = uniquePrefix();

async function doctor(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const config = loadConfig({ DATA_DIR: dataDir, QUEUE_PREFIX: PREFIX, ...env });
  const results = await runDoctor(config);
  return { code: doctorFailed(results) ? 1 : 0, output: formatDoctor(results, config) };
}

const SLACK_TOKEN = 'xoxb-doctor-secret-000111';
const TELEGRAM_TOKEN = '123456:doctor-secret-token';
const STRIPE_KEY = 'sk_test_doctor_secret_key';

/** One local server answering as Slack (auth.test), Telegram (getMe) and Stripe (balance) would. */
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/slack/api/auth.test') {
      const ok = req.headers.authorization === `Bearer ${SLACK_TOKEN}`;
      res.end(
        JSON.stringify(
          ok ? { ok: true, user_id: 'U1', team_id: 'T1' } : { ok: false, error: 'invalid_auth' },
        ),
      );
    } else if (req.url === `/telegram/bot${TELEGRAM_TOKEN}/getMe`) {
      res.end(JSON.stringify({ ok: true, result: { id: 1, is_bot: true, username: 'spawn_bot' } }));
    } else if (req.url === '/stripe/v1/balance') {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid API Key' } }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dataDir = mkdtempSync(path.join(tmpdir(), 'spawnai-doctor-'));
  // The embedded database as every start after the first finds it (creating one is start's test).
  await copyPgliteTemplate(path.join(dataDir, 'db'));
});
afterAll(async () => {
  await cleanupPrefix(PREFIX);
  await new Promise((r) => server.close(r));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('spawnai doctor', () => {
  it('on embedded defaults: stores ok, every integration off', async () => {
    const r = await doctor({ REDIS_URL: TEST_REDIS_URL });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/✓ database\s+ok\s+PGlite/);
    expect(r.output).toMatch(/✓ redis\s+ok/);
    expect(r.output).toMatch(
      /✓ queues\s+ok\s+inbound: 0 waiting, 0 active, 0 delayed, 0 failed; spawn: 0 waiting, 0 active, 0 delayed, 0 failed; notify: 0 waiting/,
    );
    for (const name of [
      'claude',
      'slack',
      'discord',
      'telegram',
      'stripe',
      'railway',
      'render',
      'supabase',
    ]) {
      expect(r.output).toMatch(new RegExp(`– ${name}\\s+off\\s+not configured`));
    }
    expect(r.output).toContain('builder: offline builder');
    expect(r.output).toMatch(/✓ sandbox\s+ok\s+bubblewrap \(\/usr\/bin\/bwrap\), cgroup v1 limits/);
  });

  it('says when local apps have no sandbox, how to get one, and fails when Claude’s apps would run here', async () => {
    const offline = await doctor({ REDIS_URL: TEST_REDIS_URL, LOCAL_SANDBOX_BWRAP: '/nonexistent/bwrap' });
    expect(offline.code, offline.output).toBe(0);
    expect(offline.output).toMatch(
      /– sandbox\s+off\s+none: bubblewrap \(\/nonexistent\/bwrap\) is not installed: install bubblewrap \(Debian\/Ubuntu: apt-get install bubblewrap/,
    );
    expect(offline.output).toContain("only the offline builder's templates run locally");
    const claude = await doctor({
      REDIS_URL: TEST_REDIS_URL,
      LOCAL_SANDBOX_BWRAP: '/nonexistent/bwrap',
      ANTHROPIC_API_KEY: 'sk-ant-doctor-secret',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
    });
    expect(claude.code).toBe(1);
    expect(claude.output).toMatch(/! sandbox\s+incomplete\s+none: bubblewrap/);
  });

  it('tells working, rejected, incomplete and unreachable apart, and prints no secret', async () => {
    // A migrated database to check, so the run spends its time on the checks, not an initdb.
    const cliData = mkdtempSync(path.join(tmpdir(), 'spawnai-doctor-cli-'));
    await copyPgliteTemplate(path.join(cliData, 'db'));
    const r = await runCli(['doctor'], {
      DATA_DIR: cliData,
      REDIS_URL: 'redis://127.0.0.1:1',
      SLACK_SIGNING_SECRET: 'slack-signing-secret-xyz',
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${base}/slack/api`,
      TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
      TELEGRAM_API_ROOT: `${base}/telegram`,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET: 'whsec_doctor_secret',
      STRIPE_API_URL: `${base}/stripe`,
      DISCORD_BOT_TOKEN: 'discord-doctor-secret',
      RENDER_API_KEY: 'rnd_doctor_secret',
      RENDER_OWNER_ID: 'tea-1',
      RENDER_API_URL: 'http://127.0.0.1:1/v1',
    });
    rmSync(cliData, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/✗ redis\s+unreachable\s+redis:\/\/127\.0\.0\.1:1/);
    expect(r.output).toMatch(/✓ slack\s+ok/);
    expect(r.output).toMatch(/✓ telegram\s+ok/);
    expect(r.output).toMatch(/✗ stripe\s+rejected\s+credentials rejected .*HTTP 401/);
    expect(r.output).toMatch(/! discord\s+incomplete\s+missing DISCORD_APPLICATION_ID, DISCORD_PUBLIC_KEY/);
    expect(r.output).toMatch(/✗ render\s+unreachable/);
    expect(r.output).toContain('provider: render');
    for (const secret of [
      SLACK_TOKEN,
      TELEGRAM_TOKEN,
      STRIPE_KEY,
      'whsec_doctor_secret',
      'discord-doctor-secret',
      'rnd_doctor_secret',
      'slack-signing-secret-xyz',
    ]) {
      expect(r.output).not.toContain(secret);
    }
  }, 90_000); // a process start on a loaded machine; the CLI run itself has its own deadline
});

describe('spawnai doctor: Slack modes', () => {
  it('takes Socket Mode without a signing secret, and names what a half set-up lacks', async () => {
    const socket = await doctor({
      REDIS_URL: TEST_REDIS_URL,
      SLACK_APP_TOKEN: 'xapp-doctor-secret',
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${base}/slack/api`,
    });
    expect(socket.output).toMatch(/✓ slack\s+ok/);
    const half = await doctor({ REDIS_URL: TEST_REDIS_URL, SLACK_SIGNING_SECRET: 'half-secret' });
    expect(half.code).toBe(1);
    expect(half.output).toMatch(/! slack\s+incomplete\s+missing SLACK_BOT_TOKEN or SLACK_CLIENT_ID/);
    expect(half.output).not.toContain('half-secret');
  });
});

describe('spawnai doctor: queues', () => {
  it('reports queue depth and the age of the oldest waiting job', async () => {
    const { Queue } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const prefix = uniquePrefix();
    const redis = new Redis(TEST_REDIS_URL);
    const queue = new Queue('spawn', { connection: redis, prefix });
    try {
      await queue.add(
        'spawn',
        { buildId: 'b', sessionId: 's', correlationId: 'c' },
        { jobId: 'old-one', timestamp: Date.now() - 600_000 },
      );
      await queue.add('spawn', { buildId: 'b2', sessionId: 's2', correlationId: 'c2' }, { jobId: 'new-one' });
      const r = await doctor({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix });
      expect(r.output).toMatch(
        /! queues\s+incomplete\s+inbound: 0 waiting, 0 active, 0 delayed, 0 failed; spawn: 2 waiting, 0 active, 0 delayed, 0 failed, oldest waiting 6\d\d s/,
      );
      expect(r.output).toContain('are workers running?');
    } finally {
      await queue.close();
      redis.disconnect();
      await cleanupPrefix(prefix);
    }
  });
});

describe('spawnai doctor <names>', () => {
  it('checks only the integrations named, and refuses a name it does not know', async () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    const results = await runDoctor(config, fetch, ['stripe', 'database']);
    expect(results.map((r) => [r.name, r.state])).toEqual([
      ['database', 'ok'],
      ['stripe', 'off'],
    ]);
    await expect(runDoctor(config, fetch, ['stripe', 'slak'])).rejects.toThrow(
      /doctor knows no check named "slak"; it knows database, redis, .*slack/,
    );
  });
});
