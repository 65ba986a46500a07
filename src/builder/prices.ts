import type { Config } from '../config/index.js';
import { DEFAULT_CLAUDE_MODEL, type ModelPricing, pricingFor, type TokenPrices } from './claude/models.js';

/**
 * Prices an operator set (ANTHROPIC_PRICE_*) for a model the built-in table does not know;
 * a price left unset is the default model's.
 */
function operatorPrices(config: Config): TokenPrices | undefined {
  const set = [
    config.ANTHROPIC_PRICE_INPUT_PER_MTOK,
    config.ANTHROPIC_PRICE_OUTPUT_PER_MTOK,
    config.ANTHROPIC_PRICE_CACHE_WRITE_PER_MTOK,
    config.ANTHROPIC_PRICE_CACHE_READ_PER_MTOK,
  ];
  if (set.every((p) => p === undefined)) return undefined;
  const base = pricingFor(DEFAULT_CLAUDE_MODEL);
  return {
    inputPerMTok: config.ANTHROPIC_PRICE_INPUT_PER_MTOK ?? base.inputPerMTok,
    outputPerMTok: config.ANTHROPIC_PRICE_OUTPUT_PER_MTOK ?? base.outputPerMTok,
    cacheWritePerMTok: config.ANTHROPIC_PRICE_CACHE_WRITE_PER_MTOK ?? base.cacheWritePerMTok,
    cacheReadPerMTok: config.ANTHROPIC_PRICE_CACHE_READ_PER_MTOK ?? base.cacheReadPerMTok,
  };
}

/** What `model`'s tokens cost: the one price table behind cards, build rows and spend caps. */
export function modelPricing(config: Config, model: string): ModelPricing {
  return pricingFor(model, operatorPrices(config));
}

/** The fallback prices the Claude builder uses for a model the table does not know. */
export function fallbackPrices(config: Config): TokenPrices | undefined {
  return operatorPrices(config);
}
