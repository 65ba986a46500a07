import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SlackUpdateBudget } from '../../../adapters/slack/pacing.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';
import { spawnErrorOf } from '../../helpers/spawn-error.js';

const prefix = `test-slack-budget-${process.pid}`;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
afterAll(async () => {
  await cleanupPrefix(prefix);
  redis.disconnect();
});

const WINDOW_MS = 10_000;
const SLOW_EDIT_MS = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slack: the workspace edit budget', () => {
  it('counts a slow edit from when Slack answered it, not from when it was taken', async () => {
    const budget = new SlackUpdateBudget(redis, prefix, {
      updatesPerWindow: 2,
      finalReserved: 0,
      windowMs: WINDOW_MS,
      windowMarginMs: 0,
    });
    // Two edits that Slack takes 2 s to answer: it counts them when they arrive, up to 2 s
    // after they left our budget.
    await Promise.all([1, 2].map(() => budget.spend('T0SLOW', true, () => sleep(SLOW_EDIT_MS))));
    const third = await spawnErrorOf(budget.spend('T0SLOW', true, async () => 'sent'));
    expect(third.code).toBe('ERR_EDIT_BUDGET_SPENT');
    // Counted from their start, the window would free up 2 s sooner (about 8 s from now).
    expect(third.retryAfterMs).toBeGreaterThan(WINDOW_MS - SLOW_EDIT_MS / 2);
  });

  it('keeps workspaces apart, and a final state may use the share progress may not', async () => {
    const budget = new SlackUpdateBudget(redis, prefix, {
      updatesPerWindow: 3,
      finalReserved: 1,
      windowMs: WINDOW_MS,
      windowMarginMs: 0,
    });
    const edit = async () => 'sent';
    expect(await budget.spend('T0A', false, edit)).toBe('sent');
    expect(await budget.spend('T0A', false, edit)).toBe('sent');
    expect((await spawnErrorOf(budget.spend('T0A', false, edit))).code).toBe('ERR_EDIT_BUDGET_SPENT');
    expect(await budget.spend('T0A', true, edit)).toBe('sent');
    expect((await spawnErrorOf(budget.spend('T0A', true, edit))).code).toBe('ERR_EDIT_BUDGET_SPENT');
    expect(await budget.spend('T0B', false, edit)).toBe('sent');
  });
});
