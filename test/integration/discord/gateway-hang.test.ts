import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DiscordWorld,
  gatewayStatus,
  repliesTo,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import { until } from '../../helpers/app.js';

const CONNECT_TIMEOUT_MS = 1_000;

let w: DiscordWorld;
beforeAll(async () => {
  w = await startDiscordWorld({
    roles: { bot: true },
    env: {
      PLATFORM_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      PLATFORM_RETRY_MIN_MS: '200',
      PLATFORM_RETRY_MAX_MS: '400',
    },
    // The gateway takes the connection and never says HELLO, from the first attempt on.
    prepare: (fake) => {
      fake.gateway.silent = true;
    },
  });
});
afterAll(async () => {
  await w?.stop();
});

describe('discord: a gateway that hangs', () => {
  it('gives each attempt up after the connect timeout and closes it before the next, then connects once the gateway answers', async () => {
    const { fake } = w;
    await until('six attempts that hung', async () => fake.gateway.hung.accepted >= 6, 60_000);
    const d = await gatewayStatus(w);
    expect(d?.state).toBe('degraded');
    expect(d?.error).toMatch(/not connected after 1000 ms/);
    // An attempt given up on is closed, not left waiting for HELLO beside the next one, nor
    // connecting again on its own 500 ms later (what discord.js does when destroyed while it
    // waits for HELLO): one connection per attempt, one more at most while the last closes.
    expect(fake.gateway.hung.accepted).toBeLessThanOrEqual(d!.failures + 1);
    expect(fake.gateway.hung.mostOpen).toBeLessThanOrEqual(2);
    await until('the hung attempts closed', async () => fake.gateway.hung.open.size <= 1, 10_000);

    fake.gateway.silent = false;
    await until('connected', async () => (await gatewayStatus(w))?.state === 'connected', 30_000);
    expect(fake.gateway.connected()).toHaveLength(1);
    const bob = fake.user('bob');
    const m = fake.say(bob, fake.dmChannel(bob).id, '/help');
    await until('reply', async () => repliesTo(fake, m).length === 1);
  }, 120_000);
});
