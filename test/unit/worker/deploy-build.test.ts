import { describe, expect, it } from 'vitest';
import type { SessionRow } from '../../../src/db/repos/index.js';
import type { PlanLimits } from '../../../src/spawn/limits.js';
import { bundleUrlSeconds } from '../../../src/worker/deploy-build.js';

const MIN = 60_000;
const created = Date.parse('2026-12-06T10:00:00Z');
const session = (patch: Partial<SessionRow>) =>
  ({ createdAt: new Date(created), expiresAt: null, ttlMinutes: 60, ...patch }) as SessionRow;
const plan = { maxSessionMinutes: 24 * 60 } as PlanLimits;

describe('how long a bundle URL lasts', () => {
  it("until the plan's longest session life from its creation, plus an hour", () => {
    const now = created + 5 * MIN;
    const s = session({ expiresAt: new Date(created + 65 * MIN) });
    expect(bundleUrlSeconds(s, plan, now)).toBe((24 * 60 + 60 - 5) * 60);
  });

  it('the same whoever deploys later in the session (a redeploy after 3 hours)', () => {
    const s = session({ expiresAt: new Date(created + 65 * MIN) });
    const now = created + 180 * MIN;
    expect(now + bundleUrlSeconds(s, plan, now) * 1000).toBe(created + (24 * 60 + 60) * MIN);
  });

  it('past the plan when a paid extension already took the session further', () => {
    const s = session({ expiresAt: new Date(created + 30 * 60 * MIN) });
    expect(bundleUrlSeconds(s, plan, created)).toBe((30 * 60 + 60) * 60);
  });

  it('at least an hour, and without a plan until the current end plus an hour', () => {
    expect(bundleUrlSeconds(session({}), undefined, created)).toBe(2 * 3600);
    const ended = session({ expiresAt: new Date(created) });
    expect(bundleUrlSeconds(ended, undefined, created + 10 * 60 * MIN)).toBe(3600);
  });
});
