import type { OutputConfig, ThinkingConfigParam, ToolChoice } from '@anthropic-ai/sdk/resources/messages';
import { type Effort, effortFor, knownModel } from './models.js';

/** The fields of a builder request that depend on the model; the doctor sends the same. */
export interface RequestShape {
  readonly tool_choice: ToolChoice;
  readonly thinking?: ThinkingConfigParam;
  readonly output_config?: OutputConfig;
}

/**
 * What every builder request carries besides its messages, valid for the model it goes to:
 * - `tool_choice: auto` for every model: the current models refuse forced tool use or skip
 *   thinking with it, and the conversation copes with a turn that calls no tool.
 * - a known model: adaptive thinking (its default, stated so the request says what it gets,
 *   with the default display, `omitted`: the builder never shows the model's text) and the
 *   effort, when the model takes that level.
 * - an unknown model: no thinking and no effort field, so it runs on its own defaults; the
 *   thinking blocks it may still send are kept and returned like any others.
 * No sampling parameters are ever sent: current models refuse non-default ones.
 */
export function requestShape(model: string, effort: Effort | undefined): RequestShape {
  if (!knownModel(model)) return { tool_choice: { type: 'auto' } };
  const level = effortFor(model, effort);
  return {
    tool_choice: { type: 'auto' },
    thinking: { type: 'adaptive' },
    ...(level ? { output_config: { effort: level } } : {}),
  };
}

/** `max_tokens` within what the model accepts (an unknown model gets the caller's cap). */
export function capMaxTokens(model: string, wanted: number): number {
  const limit = knownModel(model)?.maxOutputTokens;
  return limit ? Math.min(wanted, limit) : wanted;
}
