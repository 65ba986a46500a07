import type { BuildUsage } from '../types.js';

/** USD per million tokens, from config (ANTHROPIC_PRICE_*_PER_MTOK). */
export interface TokenPrices {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
  readonly cacheWritePerMTok: number;
  readonly cacheReadPerMTok: number;
}

/** Tokens of one request, as the API reports them in `message_start` and `message_delta`. */
export interface TurnUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export function emptyTurnUsage(): TurnUsage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
}

/**
 * Cost in micro-USD. A price in USD per million tokens is exactly micro-USD per token, so
 * the sum needs no scaling, only one rounding at the end.
 */
export function costMicroUsd(usage: Omit<BuildUsage, 'costMicroUsd'>, prices: TokenPrices): number {
  return Math.round(
    usage.inputTokens * prices.inputPerMTok +
      usage.outputTokens * prices.outputPerMTok +
      usage.cacheWriteTokens * prices.cacheWritePerMTok +
      usage.cacheReadTokens * prices.cacheReadPerMTok,
  );
}

/** Sums the usage of every request of a build, broken and retried ones included (they are billed). */
export class UsageMeter {
  private readonly total = emptyTurnUsage();

  constructor(private readonly prices: TokenPrices) {}

  add(turn: TurnUsage): void {
    this.total.inputTokens += turn.inputTokens;
    this.total.outputTokens += turn.outputTokens;
    this.total.cacheReadTokens += turn.cacheReadTokens;
    this.total.cacheWriteTokens += turn.cacheWriteTokens;
  }

  get outputTokens(): number {
    return this.total.outputTokens;
  }

  usage(): BuildUsage {
    return { ...this.total, costMicroUsd: costMicroUsd(this.total, this.prices) };
  }
}
