import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../adapters/contract.js';
import { ConnectionSupervisor, retryDelayMs } from '../../../src/connections/supervisor.js';
import { SpawnError, StartupError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';

describe('retryDelayMs', () => {
  it('doubles from the minimum to the cap, each wait longer than the last whatever the jitter', () => {
    for (const r of [0, 0.5, 0.999]) {
      const waits = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(n, 1000, 60_000, () => r));
      expect(waits[0]).toBeGreaterThanOrEqual(800);
      expect(waits[0]).toBeLessThanOrEqual(1000);
      for (let i = 1; i < 6; i++) expect(waits[i]!).toBeGreaterThan(waits[i - 1]!);
      for (const w of waits) expect(w).toBeLessThanOrEqual(60_000);
      expect(waits[7]!).toBeGreaterThanOrEqual(48_000);
    }
    // Worst case of the jitter: the smallest next wait still beats the largest previous one.
    expect(retryDelayMs(2, 1000, 60_000, () => 0.999)).toBeGreaterThan(
      retryDelayMs(1, 1000, 60_000, () => 0),
    );
  });
});

describe('ConnectionSupervisor', () => {
  const connection = (): Connection => ({ stop: async () => {} });

  it('retries a failing platform without holding the others, and gives up on a refused token', async () => {
    let discordTries = 0;
    const supervisor = new ConnectionSupervisor(
      [
        {
          platform: 'discord',
          connect: async () => {
            discordTries += 1;
            if (discordTries < 3) throw new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'gateway down');
            return connection();
          },
        },
        { platform: 'slack', connect: async () => connection() },
        {
          platform: 'telegram',
          connect: async () => {
            throw new StartupError('TELEGRAM_BOT_TOKEN: rejected');
          },
        },
      ],
      { minDelayMs: 20, maxDelayMs: 100, attemptTimeoutMs: 1000, logger: silentLogger(), random: () => 0 },
    );
    supervisor.start();
    await supervisor.firstAttempts(1000);
    const first = Object.fromEntries(supervisor.statuses().map((s) => [s.platform, s]));
    expect(first.slack?.state).toBe('connected');
    expect(first.discord?.state).toBe('degraded');
    expect(first.telegram).toMatchObject({ state: 'failed', error: 'TELEGRAM_BOT_TOKEN: rejected' });
    await new Promise((r) => setTimeout(r, 200));
    const later = Object.fromEntries(supervisor.statuses().map((s) => [s.platform, s]));
    expect(later.discord?.state).toBe('connected');
    expect(discordTries).toBe(3);
    expect(later.telegram?.state).toBe('failed');
    expect(supervisor.fatalErrors().map((f) => f.platform)).toEqual(['telegram']);
    await supervisor.stop();
  });

  it('reconnects a connection that is lost later, and bounds an attempt that hangs', async () => {
    let lose: (e: Error) => void = () => {};
    let tries = 0;
    const supervisor = new ConnectionSupervisor(
      [
        {
          platform: 'slack',
          connect: () => {
            tries += 1;
            if (tries === 2) return new Promise<Connection>(() => {}); // hangs
            return Promise.resolve({
              stop: async () => {},
              lost: new Promise<Error>((resolve) => {
                lose = resolve;
              }),
            });
          },
        },
      ],
      { minDelayMs: 10, maxDelayMs: 50, attemptTimeoutMs: 100, logger: silentLogger(), random: () => 0 },
    );
    supervisor.start();
    await supervisor.firstAttempts(500);
    expect(supervisor.statuses()[0]?.state).toBe('connected');
    lose(new Error('socket closed'));
    await new Promise((r) => setTimeout(r, 30));
    expect(supervisor.statuses()[0]).toMatchObject({ state: 'degraded' });
    await new Promise((r) => setTimeout(r, 250));
    expect(tries).toBe(3);
    expect(supervisor.statuses()[0]?.state).toBe('connected');
    await supervisor.stop();
  });

  it('aborts an attempt that timed out, so it cannot reach the platform beside the next one', async () => {
    const signals: AbortSignal[] = [];
    const supervisor = new ConnectionSupervisor(
      [
        {
          platform: 'discord',
          connect: (signal) => {
            signals.push(signal);
            return new Promise<Connection>(() => {}); // never connects
          },
        },
      ],
      { minDelayMs: 20, maxDelayMs: 50, attemptTimeoutMs: 100, logger: silentLogger(), random: () => 0 },
    );
    supervisor.start();
    await supervisor.firstAttempts(1_000);
    expect(signals[0]?.aborted).toBe(true);
    expect(String(signals[0]?.reason)).toMatch(/not connected after 100 ms/);
    // The next attempt starts after the wait, with a signal of its own; stopping aborts it.
    await until(() => signals.length >= 2);
    expect(signals[1]?.aborted).toBe(false);
    await supervisor.stop();
    expect(signals.at(-1)?.aborted).toBe(true);
  });
});

async function until(ok: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('not within the deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ConnectionSupervisor, an attempt given up on', () => {
  it('starts the next attempt only once the one it gave up on has wound down', async () => {
    // Each attempt hangs; aborted, it takes 150 ms to close (a slow close handshake), longer
    // than the 20 ms retry wait. Its connections must never overlap the next attempt's.
    const open = new Set<number>();
    let mostOpen = 0;
    let tries = 0;
    const supervisor = new ConnectionSupervisor(
      [
        {
          platform: 'discord',
          connect: (signal) =>
            new Promise<Connection>((_, reject) => {
              const id = ++tries;
              open.add(id);
              mostOpen = Math.max(mostOpen, open.size);
              signal.addEventListener('abort', () =>
                setTimeout(() => {
                  open.delete(id);
                  reject(signal.reason);
                }, 150),
              );
            }),
        },
      ],
      { minDelayMs: 20, maxDelayMs: 20, attemptTimeoutMs: 200, logger: silentLogger(), random: () => 0 },
    );
    supervisor.start();
    await until(() => tries >= 4, 10_000);
    await supervisor.stop();
    expect(mostOpen).toBe(1);
    expect(supervisor.statuses()[0]?.error).toMatch(/not connected after 200 ms/);
  });
});
