import { describe, expect, it } from 'vitest';
import { Snapshot } from '../../../src/provision/resilience/snapshot.js';

describe('Snapshot', () => {
  it('loads once per period, shares a load in flight, and forgets on invalidate', async () => {
    let loads = 0;
    let release: (() => void) | undefined;
    const snap = new Snapshot(async () => {
      loads += 1;
      await new Promise<void>((r) => {
        release = r;
      });
      return loads;
    }, 60_000);
    const a = snap.get();
    const b = snap.get();
    release!();
    expect(await a).toBe(1);
    expect(await b).toBe(1);
    expect(await snap.get()).toBe(1);
    snap.invalidate();
    const c = snap.get();
    release!();
    expect(await c).toBe(2);
  });

  it('does not keep a result loaded across an invalidate', async () => {
    let n = 0;
    let release: (() => void) | undefined;
    const snap = new Snapshot(async () => {
      n += 1;
      const mine = n;
      await new Promise<void>((r) => {
        release = r;
      });
      return mine;
    }, 60_000);
    const stale = snap.get();
    snap.invalidate();
    release!();
    expect(await stale).toBe(1);
    const fresh = snap.get();
    release!();
    expect(await fresh).toBe(2);
  });

  it('reloads after the period', async () => {
    let n = 0;
    const snap = new Snapshot(async () => ++n, 10);
    expect(await snap.get()).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await snap.get()).toBe(2);
  });
});
