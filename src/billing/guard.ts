import type { Config } from '../config/index.js';
import { SpawnError } from '../errors.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { GuardContext, SpawnGuard } from '../spawn/guard.js';
import { HOUR_MS } from '../util/time.js';
import { type SpendEstimator, usd } from './spend.js';

function seconds(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

/**
 * The paid plans' checks on every build request: the per-user request rate of the plan, and
 * the monthly and per-session spend caps (LLM + hosting), refused before anything starts.
 */
export function createBillingGuard(
  _config: Config,
  limiter: RateLimiter,
  spend: SpendEstimator,
  now: () => Date = () => new Date(),
): SpawnGuard {
  return {
    async check({ tx, user, limits, provider, session }: GuardContext): Promise<void> {
      if (limits.spawnsPerHour !== undefined) {
        const decision = await limiter.hit(`spawn:${user.id}`, limits.spawnsPerHour, HOUR_MS);
        if (!decision.allowed) {
          throw new SpawnError('ERR_RATE_LIMITED', undefined, {
            retryAfterMs: decision.retryAfterMs,
            userMessage: `You have sent ${limits.spawnsPerHour} requests in the last hour, the most the ${limits.plan} plan allows. Try again in ${seconds(decision.retryAfterMs)}.`,
          });
        }
      }
      const at = now();
      const next = spend.nextBuild(limits, provider, session === undefined);
      if (limits.monthlyCapUsd !== undefined) {
        const cap = Math.round(limits.monthlyCapUsd * 1_000_000);
        const spent = await spend.spentThisMonth(tx, user, at);
        if (spent + next > cap) {
          throw new SpawnError('ERR_SPEND_CAP', undefined, {
            userMessage: `This build could cost up to ${usd(next)}; you have spent ${usd(spent)} of your ${usd(cap)} monthly limit on the ${limits.plan} plan.`,
          });
        }
      }
      if (session && limits.sessionCapUsd !== undefined) {
        const cap = Math.round(limits.sessionCapUsd * 1_000_000);
        const spent = await spend.spentOnSession(tx, session, at);
        if (spent + next > cap) {
          throw new SpawnError('ERR_SPEND_CAP', undefined, {
            userMessage: `This change could cost up to ${usd(next)}; this app has used ${usd(spent)} of its ${usd(cap)} limit on the ${limits.plan} plan. Start a new app with /spawn.`,
          });
        }
      }
    },
  };
}
