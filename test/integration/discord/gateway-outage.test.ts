import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DiscordWorld,
  gatewayStatus,
  repliesTo,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import { until } from '../../helpers/app.js';

let w: DiscordWorld;
beforeAll(async () => {
  w = await startDiscordWorld({
    roles: { bot: true },
    env: { PLATFORM_RETRY_MIN_MS: '400', PLATFORM_RETRY_MAX_MS: '3200' },
  });
});
afterAll(async () => {
  await w?.stop();
});

describe('discord: the gateway goes away while connected', () => {
  it('after a few quick resumes fail, it is retried with growing waits (not every 500 ms), shown degraded, and handles messages once back', async () => {
    const { fake } = w;
    await until('connected', async () => (await gatewayStatus(w))?.state === 'connected');
    fake.gateway.unreachable = true;
    fake.gateway.closeAll(4000);
    await until(
      'degraded with three retries',
      async () => {
        const d = await gatewayStatus(w);
        return d?.state === 'degraded' && d.retryDelaysMs.length >= 3;
      },
      30_000,
    );
    await until('six refused connections', async () => fake.gateway.refused.length >= 6, 30_000);
    // discord.js's own quick tries come first (a few, about 500 ms apart), then ours, further apart.
    const at = fake.gateway.refused;
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    const last = gaps.slice(-2);
    expect(last[1]!, `gaps ${gaps}`).toBeGreaterThan(last[0]!);
    expect(last[1]!, `gaps ${gaps}`).toBeGreaterThan(1000);

    fake.gateway.unreachable = false;
    await until('connected again', async () => (await gatewayStatus(w))?.state === 'connected', 20_000);
    const bob = fake.user('bob');
    const dm = fake.dmChannel(bob);
    const m = fake.say(bob, dm.id, '/help');
    await until('reply', async () => repliesTo(fake, m).length === 1);
    expect(fake.gateway.connected()).toHaveLength(1);
  }, 90_000);
});
