/**
 * What each model the fake serves accepts, from Anthropic's pages as they read on 2026-12-06.
 * Every refusal is a 400 `invalid_request_error`, as the pages say; each rule names its page.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'] as const;

export interface FakeModelRules {
  readonly id: string;
  readonly maxOutputTokens: number;
  /** Shortest prefix the prompt cache stores. */
  readonly minCacheTokens: number;
  /** `thinking.type` values accepted; `undefined` (no field) always is. */
  readonly thinkingTypes: readonly string[];
  /** Whether the model thinks when the request has no `thinking` field. */
  readonly thinksByDefault: boolean;
  readonly refusesForcedToolChoice: boolean;
  /** Efforts at which `thinking: {type: "disabled"}` is accepted (where it is at all). */
  readonly disabledAtEfforts?: readonly string[];
  /** Efforts at which `between_tools` is accepted. */
  readonly betweenToolsEfforts?: readonly string[];
  /** Thinking blocks must keep the conversation before them unchanged (prefix check). */
  readonly bindsThinkingToConversation: boolean;
  readonly defaultEffort: string;
}

/**
 * https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5
 * https://platform.claude.com/docs/en/models/sonnet-5-5/overview ("Max output 128K tokens")
 * https://platform.claude.com/docs/en/models/haiku-5-5/overview, .../haiku-5-5/migration-guide
 * https://platform.claude.com/docs/en/build-with-claude/thinking-tool-workflows
 */
export const FAKE_MODEL_RULES: Readonly<Record<string, FakeModelRules>> = {
  'claude-sonnet-5-5': {
    id: 'claude-sonnet-5-5',
    maxOutputTokens: 128_000,
    // Migration guide (Sonnet 5 to 5.5): minimum cacheable prompt 1,024 -> 512 tokens.
    minCacheTokens: 512,
    // thinking-troubleshooting: "Only Claude Sonnet 5.5 accepts "between_tools", and it uses it
    // in place of "disabled"".
    thinkingTypes: ['adaptive', 'between_tools'],
    // whats-new: "Adaptive thinking is on by default, and the effort parameter controls
    // thinking depth. Its default on the Claude API is high."
    thinksByDefault: true,
    refusesForcedToolChoice: true,
    // whats-new: "between_tools is available at low, medium, and high effort. At xhigh or max
    // effort, requests with between_tools return a 400 error."
    betweenToolsEfforts: ['low', 'medium', 'high'],
    bindsThinkingToConversation: true,
    defaultEffort: 'high',
  },
  'claude-haiku-5-5': {
    id: 'claude-haiku-5-5',
    maxOutputTokens: 128_000,
    // Not stated on the pages read; the prompt-cache floor of the earlier generation.
    minCacheTokens: 1024,
    // Migration guide: "If your requests send thinking: {"type": "enabled", "budget_tokens": N},
    // change thinking to {"type": "adaptive"}"; thinking "can be turned off at low, medium,
    // and high effort".
    thinkingTypes: ['adaptive', 'disabled'],
    thinksByDefault: true,
    // thinking-tool-workflows: adaptive thinking supports forced tool use, "except Claude Opus
    // 5.5, Claude Sonnet 5.5, Claude Fable 5.1 and Claude Mythos 5.1, which return a 400 error".
    refusesForcedToolChoice: false,
    disabledAtEfforts: ['low', 'medium', 'high'],
    bindsThinkingToConversation: false,
    defaultEffort: 'medium',
  },
  'claude-opus-5-5': {
    id: 'claude-opus-5-5',
    maxOutputTokens: 128_000,
    minCacheTokens: 512,
    // Models overview: Opus 5.5 thinking "Adaptive (always on)".
    thinkingTypes: ['adaptive'],
    thinksByDefault: true,
    refusesForcedToolChoice: true,
    bindsThinkingToConversation: true,
    defaultEffort: 'medium',
  },
};

/** The effort a request runs at. */
export function requestEffort(body: Json, rules: FakeModelRules): string {
  const config = body.output_config;
  return isObject(config) && typeof config.effort === 'string' ? config.effort : rules.defaultEffort;
}

/** Whether the model thinks for this request (and so streams thinking blocks). */
export function thinksFor(body: Json, rules: FakeModelRules): boolean {
  const thinking = body.thinking;
  const forced = isObject(body.tool_choice) && ['any', 'tool'].includes(String(body.tool_choice.type));
  // thinking-tool-workflows: "Where forced tool use is accepted, it skips thinking: the
  // response starts with the tool call."
  if (forced) return false;
  if (!isObject(thinking)) return rules.thinksByDefault;
  return thinking.type === 'adaptive' || thinking.type === 'between_tools';
}

/** The display of thinking text: `omitted` (the default) sends only the signature. */
export function thinkingDisplay(body: Json): 'summarized' | 'omitted' {
  const thinking = body.thinking;
  return isObject(thinking) && thinking.display === 'summarized' ? 'summarized' : 'omitted';
}

/** The message of the 400 this model answers `body` with, or undefined when it accepts it. */
export function modelRuleViolation(body: Json, rules: FakeModelRules): string | undefined {
  const config = body.output_config;
  if (config !== undefined) {
    if (!isObject(config)) return 'output_config: Input should be an object';
    // Effort page: "Valid values are low, medium, high, xhigh, or max."
    if (config.effort !== undefined && !(EFFORTS as readonly unknown[]).includes(config.effort)) {
      return `output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'`;
    }
  }
  const effort = requestEffort(body, rules);

  // Sonnet 5.5 migration guide: a request that works as is carries none of "the five settings
  // that return a 400 error: a thinking budget, sampling parameters, assistant prefill, forced
  // tool choice, and thinking: {"type": "disabled"}". Haiku 5.5's guide: "Remove temperature,
  // top_p, and top_k from your requests."
  if ('temperature' in body && body.temperature !== 1) {
    return `temperature: ${rules.id} supports only the default temperature; remove temperature from the request`;
  }
  if ('top_p' in body && body.top_p !== 1) {
    return `top_p: ${rules.id} does not support top_p; remove it from the request`;
  }
  if ('top_k' in body) return `top_k: ${rules.id} does not support top_k; remove it from the request`;

  const choice = body.tool_choice;
  if (
    rules.refusesForcedToolChoice &&
    isObject(choice) &&
    (choice.type === 'any' || choice.type === 'tool')
  ) {
    // whats-new-sonnet-5-5: "Forced tool use returns an error."
    return `tool_choice.type: "${String(choice.type)}" is not supported on ${rules.id}; use "auto" or "none"`;
  }

  const thinking = body.thinking;
  if (thinking !== undefined) {
    if (!isObject(thinking) || typeof thinking.type !== 'string') return 'thinking.type: Field required';
    const type = thinking.type;
    if (!rules.thinkingTypes.includes(type)) {
      // whats-new-sonnet-5-5: "requests that send thinking: {"type": "disabled"} return a 400
      // invalid_request_error whose message points to between_tools."
      if (type === 'disabled' && rules.thinkingTypes.includes('between_tools')) {
        return `thinking.type: "disabled" is not supported on ${rules.id}; send {"type": "between_tools"} to turn off up-front thinking`;
      }
      // thinking-troubleshooting: "Claude 4.7 and later models do not support [extended
      // thinking] and reject requests that use it, returning a 400 error."
      return `thinking.type: "${type}" is not supported on ${rules.id}`;
    }
    if (type === 'disabled' && rules.disabledAtEfforts && !rules.disabledAtEfforts.includes(effort)) {
      return `thinking.type: "disabled" is not supported at effort ${effort} on ${rules.id}`;
    }
    if (
      type === 'between_tools' &&
      rules.betweenToolsEfforts &&
      !rules.betweenToolsEfforts.includes(effort)
    ) {
      return `thinking.type: "between_tools" is not supported at effort ${effort}; use adaptive thinking at xhigh or max`;
    }
    if (
      thinking.display !== undefined &&
      thinking.display !== 'summarized' &&
      thinking.display !== 'omitted'
    ) {
      return `thinking.display: Input should be 'summarized' or 'omitted'`;
    }
  }

  const messages = body.messages as Json[];
  if (messages.at(-1)?.role === 'assistant') {
    // Sonnet 5.5 migration guide: assistant prefill returns a 400 error.
    return `messages: ${rules.id} does not support assistant message prefill; the conversation must end with a user message`;
  }
  return undefined;
}
