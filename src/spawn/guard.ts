import type { Repos, SessionRow, UserRow } from '../db/repos/index.js';
import type { ProviderName } from '../provision/types.js';
import type { PlanLimits } from './limits.js';

export interface GuardContext {
  /** Repositories bound to the request's transaction (the user row is locked). */
  readonly tx: Repos;
  readonly user: UserRow;
  readonly limits: PlanLimits;
  readonly provider: ProviderName;
  /** The session a change is for; absent for a new app. */
  readonly session?: SessionRow;
}

/**
 * A check every build request passes before anything is created (rate limits, spend caps).
 * Refuses with a SpawnError whose userMessage carries the numbers and when to try again.
 */
export interface SpawnGuard {
  check(context: GuardContext): Promise<void>;
}
