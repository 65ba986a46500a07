/**
 * The Claude models SpawnAI knows: what a request to each must look like, and what its tokens
 * cost. Data only (no SDK import), so billing can price a plan's builds without loading the
 * client. Checked against Anthropic's pages on 2026-12-06; each entry names its sources.
 */

/** The levels of `output_config.effort`. */
export const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'] as const;
export type Effort = (typeof EFFORTS)[number];

/** USD per million tokens of one kind. A price per million tokens is micro-USD per token. */
export interface TokenPrices {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
  /** 5-minute cache writes: the builder's breakpoints use the default `ephemeral` TTL. */
  readonly cacheWritePerMTok: number;
  readonly cacheReadPerMTok: number;
}

/** A model priced by prompt length: requests whose prompt is longer pay these on every token. */
export interface LongPromptPrices {
  /** Prompt tokens (input + cache reads + cache writes) above which `prices` apply. */
  readonly aboveTokens: number;
  readonly prices: TokenPrices;
}

export interface ModelPricing extends TokenPrices {
  readonly longPrompt?: LongPromptPrices;
}

export interface ModelSpec {
  readonly id: string;
  readonly name: string;
  /** Largest `max_tokens` the model accepts. */
  readonly maxOutputTokens: number;
  /** Effort levels it accepts, and the one it uses when none is sent. */
  readonly efforts: readonly Effort[];
  readonly defaultEffort: Effort;
  readonly pricing: ModelPricing;
  /** Where the rules and prices come from. */
  readonly sources: readonly string[];
}

export const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-5-5';

/**
 * The supported models. Request rules common to both (and so sent to every model):
 * - `tool_choice` is `auto`: Sonnet 5.5 refuses `any` and `tool` with a 400
 *   ("Forced tool use returns an error", whats-new-sonnet-5-5).
 * - `thinking: {type: "adaptive"}`: on by default on both; `disabled` and `enabled` are
 *   refused by Sonnet 5.5 (thinking-troubleshooting), `enabled` by Haiku 5.5 (its migration guide).
 * - no `temperature`, `top_p`, `top_k`, no assistant prefill (both migration guides).
 * - thinking and redacted thinking blocks go back unmodified (thinking-tool-workflows).
 */
export const CLAUDE_MODELS: Readonly<Record<string, ModelSpec>> = Object.freeze({
  'claude-sonnet-5-5': {
    id: 'claude-sonnet-5-5',
    name: 'Claude Sonnet 5.5',
    maxOutputTokens: 128_000,
    efforts: EFFORTS,
    defaultEffort: 'high',
    pricing: {
      inputPerMTok: 2,
      outputPerMTok: 10,
      cacheWritePerMTok: 2.5,
      // Cut from $0.20 on 2026-10-07: the migration guide says Sonnet 5.5 costs the same as
      // Sonnet 5 "except prompt cache reads", at $0.10 per million tokens.
      cacheReadPerMTok: 0.1,
    },
    sources: [
      'https://platform.claude.com/docs/en/models/sonnet-5-5/overview',
      'https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide',
      'https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5',
    ],
  },
  'claude-haiku-5-5': {
    id: 'claude-haiku-5-5',
    name: 'Claude Haiku 5.5',
    maxOutputTokens: 128_000,
    efforts: EFFORTS,
    defaultEffort: 'medium',
    pricing: {
      inputPerMTok: 0.1,
      outputPerMTok: 0.5,
      cacheWritePerMTok: 0.125,
      cacheReadPerMTok: 0.01,
      longPrompt: {
        aboveTokens: 100_000,
        prices: { inputPerMTok: 0.5, outputPerMTok: 2.5, cacheWritePerMTok: 0.625, cacheReadPerMTok: 0.05 },
      },
    },
    sources: [
      'https://platform.claude.com/docs/en/models/haiku-5-5/overview',
      'https://platform.claude.com/docs/en/models/haiku-5-5/migration-guide',
    ],
  },
});

/** The table's entry for `model`, or undefined for a model SpawnAI does not know. */
export function knownModel(model: string): ModelSpec | undefined {
  return Object.hasOwn(CLAUDE_MODELS, model) ? CLAUDE_MODELS[model] : undefined;
}

/**
 * The prices of `model`: the table's, else `fallback` (ANTHROPIC_PRICE_* when an operator set
 * them for a model the table does not know), else the default model's, so an unknown model is
 * never free on a card or under a spend cap.
 */
export function pricingFor(model: string, fallback?: TokenPrices): ModelPricing {
  return knownModel(model)?.pricing ?? fallback ?? CLAUDE_MODELS[DEFAULT_CLAUDE_MODEL]!.pricing;
}

/** The effort to send: the requested one if the model takes it, else none (its own default). */
export function effortFor(model: string, requested: Effort | undefined): Effort | undefined {
  const spec = knownModel(model);
  if (!spec || !requested) return undefined;
  return spec.efforts.includes(requested) ? requested : undefined;
}
