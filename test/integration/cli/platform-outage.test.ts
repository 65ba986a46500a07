import { afterEach, describe, expect, it } from 'vitest';
import { discordEnv, FakeDiscord } from '../../fakes/discord/harness.js';
import { until } from '../../helpers/app.js';
import { killLeftovers, type RunningCli, startCli, waitForHttp } from '../../helpers/cli.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { fetchPreview } from '../../helpers/preview.js';
import { readReady } from '../../helpers/ready.js';
import { WebChatClient } from '../../helpers/web-client.js';

const running: RunningCli[] = [];
const fakes: FakeDiscord[] = [];
afterEach(async () => {
  await killLeftovers(running);
  for (const f of fakes.splice(0)) await f.stop();
});

// Short, so the outage outlasts the connect timeout many times over in seconds, not minutes.
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 3200;
// Long enough for an attempt on a loaded machine; waiting out twice of it costs little, as
// seven refused attempts take about 10 s anyway.
const CONNECT_TIMEOUT_MS = 5000;

/** Gaps between consecutive timestamps. */
const gaps = (at: readonly number[]) => at.slice(1).map((t, i) => t - at[i]!);

describe('spawnai start with the Discord gateway unreachable', () => {
  it('keeps the web chat building apps, says discord is degraded in /ready (200), retries with growing waits, and connects once the gateway is back', async () => {
    const fake = await new FakeDiscord().start();
    fakes.push(fake);
    fake.gateway.unreachable = true;
    const r = await startCli(['start'], {
      REDIS_URL: TEST_REDIS_URL,
      ...discordEnv(fake),
      PLATFORM_RETRY_MIN_MS: String(RETRY_MIN_MS),
      PLATFORM_RETRY_MAX_MS: String(RETRY_MAX_MS),
      PLATFORM_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    });
    running.push(r);
    // Generous: the suite runs many processes at once.
    await waitForHttp(`${r.url}/ready`, 90_000);

    // /ready stays 200 and names the one platform that is down.
    const degraded = await until('discord degraded in /ready', async () => {
      const { status, body } = await readReady(r.url);
      expect(status).toBe(200);
      return body.platforms?.discord?.state === 'degraded' ? body : undefined;
    });
    expect(degraded.status).toBe('degraded');
    expect(degraded.checks).toEqual({ postgres: 'ok', redis: 'ok' });
    expect(degraded.platforms?.discord?.error).toMatch(/Discord gateway: cannot connect/);
    expect(degraded.message).toBe('discord not connected; everything else works');

    // The web chat builds an app meanwhile.
    const client = new WebChatClient(r.url);
    await client.open();
    const sent = await client.send('a todo list for my climbing gym');
    expect(sent.status).toBe(202);
    const result = await until(
      'the web chat app is live',
      async () => {
        const cards = await client.cards(sent.spawn!.sessionId);
        return cards.find((c) => c.view.tone === 'success' && c.view.title.endsWith('is ready'));
      },
      90_000,
    );
    const open = result.view.buttons?.find((b) => b.kind === 'link');
    expect((await fetchPreview(open?.kind === 'link' ? open.url : '')).status).toBe(200);

    // Seen from the gateway: the attempts come further and further apart (the minimum doubling,
    // less up to 20 % jitter, up to the cap), not every 500 ms as discord.js alone would. Each
    // gap is at least its wait; only lower bounds are checked, since an attempt's own time
    // (a second on a loaded machine) adds to its gap. The seventh attempt comes after a second
    // wait at the cap.
    await until('seven refused gateway connections', async () => fake.gateway.refused.length >= 7, 60_000);
    const seen = gaps(fake.gateway.refused.slice(0, 6));
    for (const [i, gap] of seen.entries()) {
      expect(gap, `gaps ${seen}`).toBeGreaterThanOrEqual(0.8 * RETRY_MIN_MS * 2 ** i - 50);
    }
    // As the service reports them: growing by construction until the cap, then held there.
    const waits = (await readReady(r.url)).body.platforms?.discord?.retryDelaysMs ?? [];
    expect(waits.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < waits.length; i++) {
      expect(waits[i]!, `waits ${waits}`).toBeGreaterThan(Math.min(waits[i - 1]!, 0.8 * RETRY_MAX_MS - 1));
      expect(waits[i]!).toBeLessThanOrEqual(RETRY_MAX_MS);
    }
    expect(waits.filter((w) => w >= 0.8 * RETRY_MAX_MS).length, `waits ${waits}`).toBeGreaterThanOrEqual(2);

    // Today's behaviour ended the whole process one connect timeout into the outage; it keeps
    // serving well past that.
    const aliveFor = 2 * CONNECT_TIMEOUT_MS - (Date.now() - fake.gateway.refused[0]!);
    if (aliveFor > 0) await new Promise((res) => setTimeout(res, aliveFor));
    expect(r.child.exitCode, r.output()).toBeNull();
    expect((await fetch(`${r.url}/`)).status).toBe(200);

    // The gateway comes back: the next attempt connects and /ready is plainly ok.
    fake.gateway.unreachable = false;
    const back = await until(
      'discord connected',
      async () => {
        const { body } = await readReady(r.url);
        return body.platforms?.discord?.state === 'connected' ? body : undefined;
      },
      20_000,
    );
    expect(back.status).toBe('ok');
    expect(fake.gateway.connected()).toHaveLength(1);
    expect(r.output()).toContain('discord: cannot connect; retrying in');

    r.child.kill('SIGTERM');
    expect((await r.exited).code, r.output()).toBe(0);
  }, 180_000);
});
