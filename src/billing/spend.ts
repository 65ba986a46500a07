import { costMicroUsd } from '../builder/claude/usage.js';
import { modelPricing } from '../builder/prices.js';
import type { Config } from '../config/index.js';
import type { Repos, SessionRow, UserRow } from '../db/repos/index.js';
import type { ProviderName } from '../provision/types.js';
import type { PlanLimits } from '../spawn/limits.js';
import { HOUR_MS } from '../util/time.js';

const MICRO = 1_000_000;

/** Input tokens a build is expected to use besides its output: system prompt, tools, files. */
const EXPECTED_INPUT_TOKENS = 20_000;

export function usd(micro: number): string {
  return `$${(micro / MICRO).toFixed(2)}`;
}

export function startOfMonth(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/**
 * Estimates what builds and apps cost: the most a build can spend on the LLM (its output
 * budget at the output price, plus expected input), and the hosting of cloud apps by the hour.
 */
export class SpendEstimator {
  constructor(
    private readonly config: Config,
    private readonly llm: boolean,
  ) {}

  /** Upper bound of one build's LLM cost, micro-USD. */
  buildCeiling(limits: PlanLimits): number {
    if (!this.llm) return 0;
    const pricing = modelPricing(this.config, limits.model ?? this.config.ANTHROPIC_MODEL);
    const expected = {
      inputTokens: EXPECTED_INPUT_TOKENS,
      outputTokens: limits.maxOutputTokens,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    };
    return costMicroUsd(expected, pricing);
  }

  /** Hosting of one app for `minutes` on `provider`, micro-USD (local apps cost nothing). */
  hosting(provider: string, minutes: number): number {
    if (provider === 'local') return 0;
    return Math.round((minutes / 60) * this.config.HOSTING_USD_PER_HOUR * MICRO);
  }

  /** A session's hosting so far (until it ended, or now). */
  sessionHosting(session: SessionRow, now: Date, since?: Date): number {
    const from = Math.max(session.createdAt.getTime(), since?.getTime() ?? 0);
    const to = (session.endedAt ?? now).getTime();
    return this.hosting(session.provider, Math.max(0, to - from) / (HOUR_MS / 60));
  }

  async spentThisMonth(tx: Repos, user: UserRow, now: Date): Promise<number> {
    const since = startOfMonth(now);
    const llm = await tx.builds.costForUserSince(user.id, since);
    const sessions = await tx.sessions.listByUser(user.id, { limit: 500 });
    const hosting = sessions
      .filter((s) => (s.endedAt ?? now) >= since)
      .reduce((sum, s) => sum + this.sessionHosting(s, now, since), 0);
    return llm + hosting;
  }

  async spentOnSession(tx: Repos, session: SessionRow, now: Date): Promise<number> {
    return (await tx.builds.costForSession(session.id)) + this.sessionHosting(session, now);
  }

  /** What the next build (and, for a new app, its first lifetime of hosting) may cost. */
  nextBuild(limits: PlanLimits, provider: ProviderName, newSession: boolean): number {
    return this.buildCeiling(limits) + (newSession ? this.hosting(provider, limits.ttlMinutes) : 0);
  }
}
