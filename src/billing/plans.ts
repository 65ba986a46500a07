import type { Config } from '../config/index.js';
import { PLAN_NAMES, type PlanName } from '../config/plans-schema.js';
import type { UserRow } from '../db/repos/index.js';
import type { PlanLimits } from '../spawn/limits.js';
import { HOUR_MS } from '../util/time.js';

export { PLAN_NAMES, type PlanName } from '../config/plans-schema.js';

const DAY_MINUTES = 24 * 60;

/**
 * Thinking tokens are output tokens, so the effort must leave room in the output budget for
 * the files. An app of a handful of files is about 8-15k output tokens over 3-5 turns; the
 * free plan's 32k budget leaves some 4k of thinking per turn, which is what `medium` spends on
 * a build like this (ANTHROPIC_EFFORT's default). Paid plans have at least 64k: room for
 * `high`, Sonnet 5.5's own default.
 */
const PAID_PLAN_EFFORT = 'high';

/**
 * The plans and their limits. The free plan's core limits come from the FREE_* and SESSION_*
 * variables; PLANS_JSON overrides any limit of any plan.
 */
export function resolvePlans(config: Config): Readonly<Record<PlanName, PlanLimits>> {
  const base: Record<PlanName, PlanLimits> = {
    free: {
      plan: 'free',
      liveSessions: config.FREE_LIVE_SESSIONS,
      buildsPerDay: config.FREE_BUILDS_PER_DAY,
      ttlMinutes: config.SESSION_TTL_MINUTES,
      extendMinutes: config.SESSION_EXTEND_MINUTES,
      maxSessionMinutes: config.SESSION_MAX_MINUTES,
      maxOutputTokens: config.BUILD_MAX_OUTPUT_TOKENS,
      buildWallTimeMs: config.BUILD_TIMEOUT_MS,
      model: config.ANTHROPIC_MODEL,
      effort: config.ANTHROPIC_EFFORT,
      maxRepairs: config.BUILD_MAX_REPAIRS,
      spawnsPerHour: 30,
      monthlyCapUsd: 5,
      sessionCapUsd: 2,
    },
    pro: {
      plan: 'pro',
      liveSessions: 5,
      buildsPerDay: 200,
      ttlMinutes: DAY_MINUTES,
      extendMinutes: DAY_MINUTES,
      maxSessionMinutes: 7 * DAY_MINUTES,
      maxOutputTokens: Math.max(config.BUILD_MAX_OUTPUT_TOKENS, 64_000),
      buildWallTimeMs: config.BUILD_TIMEOUT_MS,
      model: config.ANTHROPIC_MODEL,
      effort: PAID_PLAN_EFFORT,
      maxRepairs: Math.max(config.BUILD_MAX_REPAIRS, 2),
      spawnsPerHour: 120,
      monthlyCapUsd: 50,
      sessionCapUsd: 15,
    },
    team: {
      plan: 'team',
      liveSessions: 20,
      buildsPerDay: 1000,
      ttlMinutes: 3 * DAY_MINUTES,
      extendMinutes: 3 * DAY_MINUTES,
      maxSessionMinutes: 30 * DAY_MINUTES,
      maxOutputTokens: Math.max(config.BUILD_MAX_OUTPUT_TOKENS, 64_000),
      buildWallTimeMs: config.BUILD_TIMEOUT_MS,
      model: config.ANTHROPIC_MODEL,
      effort: PAID_PLAN_EFFORT,
      maxRepairs: Math.max(config.BUILD_MAX_REPAIRS, 2),
      spawnsPerHour: 600,
      monthlyCapUsd: 250,
      sessionCapUsd: 50,
    },
  };
  const overrides = config.PLANS_JSON ?? {};
  const out = {} as Record<PlanName, PlanLimits>;
  for (const name of PLAN_NAMES)
    out[name] = Object.freeze({ ...base[name], ...(overrides[name] ?? {}), plan: name });
  return Object.freeze(out);
}

/** A paid plan counts while it has not run out; otherwise the person is on the free plan. */
export function effectivePlan(
  user: Pick<UserRow, 'plan' | 'planExpiresAt'>,
  now: Date = new Date(),
): PlanName {
  const plan = (PLAN_NAMES as readonly string[]).includes(user.plan) ? (user.plan as PlanName) : 'free';
  if (plan === 'free') return 'free';
  if (user.planExpiresAt && user.planExpiresAt.getTime() <= now.getTime()) return 'free';
  return plan;
}

/** Stripe renews at period end; a day of grace covers the gap before the renewal event arrives. */
export const RENEWAL_GRACE_MS = 24 * HOUR_MS;

export const PLAN_LABEL: Record<PlanName, string> = { free: 'Free', pro: 'Pro', team: 'Team' };
