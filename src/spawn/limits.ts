import type { UserRow } from '../db/repos/index.js';

/** What a person may do; the free plan comes from config, paid plans from billing. */
export interface PlanLimits {
  readonly plan: string;
  /** Sessions queued, building, deploying or live at once. */
  readonly liveSessions: number;
  /** Builds (first requests and iterations) per rolling 24 hours. */
  readonly buildsPerDay: number;
  /** How long an app lives once it is live. */
  readonly ttlMinutes: number;
  /** Time added by one extension. */
  readonly extendMinutes: number;
  /** Longest lifetime of a session, counted from its creation, extensions included. */
  readonly maxSessionMinutes: number;
  /** Output token budget of one Claude build. */
  readonly maxOutputTokens: number;
  /** Wall time budget of one build. */
  readonly buildWallTimeMs: number;
  /** Claude model of this plan's builds (default: ANTHROPIC_MODEL). */
  readonly model?: string;
  /** How hard that model thinks (default: ANTHROPIC_EFFORT); thinking spends the output budget. */
  readonly effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max';
  /** Repair turns for an app that does not start after its deploy (default: none). */
  readonly maxRepairs?: number;
  /** Providers this plan may deploy to (default: any configured). */
  readonly providers?: readonly ('local' | 'railway' | 'render')[];
  /** Spawn requests (new apps and changes) per rolling hour. */
  readonly spawnsPerHour?: number;
  /** LLM + hosting spend per calendar month, USD. */
  readonly monthlyCapUsd?: number;
  /** LLM + hosting spend of one session, USD. */
  readonly sessionCapUsd?: number;
}

export interface LimitsPolicy {
  limitsFor(user: UserRow): PlanLimits;
}

/** Every user gets the free plan from config (billing replaces this with plans). */
export function fixedLimits(limits: PlanLimits): LimitsPolicy {
  return { limitsFor: () => limits };
}
