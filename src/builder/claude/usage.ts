import type { BuildUsage } from '../types.js';
import type { ModelPricing, TokenPrices } from './models.js';

export type { TokenPrices } from './models.js';

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

/** The prices one request pays: a long prompt moves every token of it to the higher tier. */
export function pricesForTurn(usage: Omit<BuildUsage, 'costMicroUsd'>, pricing: ModelPricing): TokenPrices {
  const prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  const long = pricing.longPrompt;
  return long && prompt > long.aboveTokens ? long.prices : pricing;
}

/** Cost in micro-USD, unrounded: a price in USD per million tokens is micro-USD per token. */
function exactCost(usage: Omit<BuildUsage, 'costMicroUsd'>, prices: TokenPrices): number {
  return (
    usage.inputTokens * prices.inputPerMTok +
    usage.outputTokens * prices.outputPerMTok +
    usage.cacheWriteTokens * prices.cacheWritePerMTok +
    usage.cacheReadTokens * prices.cacheReadPerMTok
  );
}

/** Cost of one request in micro-USD, rounded once. */
export function costMicroUsd(usage: Omit<BuildUsage, 'costMicroUsd'>, pricing: ModelPricing): number {
  return Math.round(exactCost(usage, pricesForTurn(usage, pricing)));
}

/**
 * Sums the usage of every request of a build, broken and retried ones included (they are
 * billed). Each request is priced on its own (a long-prompt tier applies per request) and the
 * sum is rounded once.
 */
export class UsageMeter {
  private readonly total = emptyTurnUsage();
  private cost = 0;

  constructor(private readonly pricing: ModelPricing) {}

  add(turn: TurnUsage): void {
    this.total.inputTokens += turn.inputTokens;
    this.total.outputTokens += turn.outputTokens;
    this.total.cacheReadTokens += turn.cacheReadTokens;
    this.total.cacheWriteTokens += turn.cacheWriteTokens;
    this.cost += exactCost(turn, pricesForTurn(turn, this.pricing));
  }

  get outputTokens(): number {
    return this.total.outputTokens;
  }

  usage(): BuildUsage {
    return { ...this.total, costMicroUsd: Math.round(this.cost) };
  }
}
