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

/**
 * The image rules of https://platform.claude.com/docs/en/build-with-claude/vision ("Supported
 * image formats: JPEG, PNG, GIF, and WebP"; "General limits": 5 MB per image on the API, up to
 * 100 images per request), with the API's own wording as people have reported it:
 * - `...image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or
 *   'image/webp'` (https://github.com/anthropics/claude-code/issues/8184),
 * - `...image.source.base64.data: Image does not match the provided media type image/png`
 *   (https://github.com/anthropics/claude-code/issues/6300),
 * - `...image.source.base64: image exceeds 5 MB maximum: 5649924 bytes > 5242880 bytes`, the
 *   size of the base64 text (https://github.com/earendil-works/pi/pull/424).
 */
export const IMAGE_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const;
export const IMAGE_MAX_BASE64_BYTES = 5 * 1024 * 1024;
export const IMAGES_PER_REQUEST = 100;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The type of decoded image bytes by magic number, as the API checks them against `media_type`. */
function sniff(bytes: Buffer): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).toString('hex') === '89504e470d0a1a0a') return 'image/png';
  const head = bytes.subarray(0, 6).toString('latin1');
  if (head === 'GIF87a' || head === 'GIF89a') return 'image/gif';
  if (
    bytes.length >= 12 &&
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  ) {
    return 'image/webp';
  }
  return undefined;
}

/** The 400 message for the first image block that breaks a rule, or undefined. */
export function imageRuleViolation(body: Json): string | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  let count = 0;
  for (const [i, m] of messages.entries()) {
    if (!isObject(m) || !Array.isArray(m.content)) continue;
    for (const [j, block] of m.content.entries()) {
      if (!isObject(block) || block.type !== 'image') continue;
      count++;
      const at = `messages.${i}.content.${j}.image.source`;
      if (m.role !== 'user')
        return `messages.${i}.content.${j}: image blocks are only allowed in user messages`;
      const source = block.source;
      if (!isObject(source)) return `${at}: Field required`;
      if (source.type !== 'base64') {
        // The builder only ever sends base64; url and file sources are not served by the fake.
        return `${at}.type: the fake accepts only 'base64' sources`;
      }
      if (!(IMAGE_MEDIA_TYPES as readonly unknown[]).includes(source.media_type)) {
        return `${at}.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
      }
      const data = source.data;
      if (typeof data !== 'string' || data === '' || !BASE64.test(data) || data.length % 4 !== 0) {
        return `${at}.base64.data: Invalid base64 data`;
      }
      if (data.length > IMAGE_MAX_BASE64_BYTES) {
        return `${at}.base64: image exceeds 5 MB maximum: ${data.length} bytes > ${IMAGE_MAX_BASE64_BYTES} bytes`;
      }
      if (sniff(Buffer.from(data, 'base64')) !== source.media_type) {
        return `${at}.base64.data: Image does not match the provided media type ${String(source.media_type)}`;
      }
    }
  }
  if (count > IMAGES_PER_REQUEST) return `messages: too many images: ${count} > ${IMAGES_PER_REQUEST}`;
  return undefined;
}
