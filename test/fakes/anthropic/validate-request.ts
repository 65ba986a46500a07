/** Largest `max_tokens` the fake's models accept. */
export const MODEL_MAX_OUTPUT_TOKENS = 128_000;
/** Most `cache_control` breakpoints in one request. */
export const MAX_CACHE_BREAKPOINTS = 4;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function countCacheControl(body: Json): number {
  let n = isObject(body.cache_control) ? 1 : 0;
  const blocks: unknown[] = [
    ...((body.tools as unknown[] | undefined) ?? []),
    ...(Array.isArray(body.system) ? body.system : []),
    ...((body.messages as { content?: unknown }[] | undefined) ?? []).flatMap((m) =>
      Array.isArray(m?.content) ? m.content : [],
    ),
  ];
  for (const b of blocks) if (isObject(b) && isObject(b.cache_control)) n++;
  return n;
}

/**
 * The checks the real API makes on `POST /v1/messages` that a client can get wrong; each
 * failure is the message of a 400 `invalid_request_error`.
 */
export function validateMessagesRequest(body: unknown, knownModels: readonly string[]): string | undefined {
  if (!isObject(body)) return 'body: expected a JSON object';
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (!knownModels.includes(body.model)) return `model: ${body.model}`;
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) {
    return 'max_tokens: Field required (a positive integer)';
  }
  if ((body.max_tokens as number) > MODEL_MAX_OUTPUT_TOKENS) {
    return `max_tokens: ${body.max_tokens} > ${MODEL_MAX_OUTPUT_TOKENS}, which is the maximum allowed number of output tokens for ${body.model}`;
  }
  if ('temperature' in body && body.temperature !== 1) {
    return 'temperature: this model supports only the default temperature';
  }
  const tools = (body.tools as unknown[] | undefined) ?? [];
  const names = new Set<string>();
  for (const [i, t] of tools.entries()) {
    if (!isObject(t) || typeof t.name !== 'string') return `tools.${i}.name: Field required`;
    if (names.has(t.name)) return `tools: Tool names must be unique (${t.name})`;
    names.add(t.name);
    if (!isObject(t.input_schema) || t.input_schema.type !== 'object') {
      return `tools.${i}.input_schema.type: Input should be 'object'`;
    }
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required';
  let previousToolUses: string[] = [];
  for (const [i, m] of messages.entries()) {
    if (!isObject(m) || (m.role !== 'user' && m.role !== 'assistant')) {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
    if (i === 0 && m.role !== 'user') return 'messages: the first message must use the "user" role';
    if (i > 0 && (messages[i - 1] as Json).role === m.role) {
      return 'messages: roles must alternate between "user" and "assistant"';
    }
    const content = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (!Array.isArray(content) || content.length === 0) return `messages.${i}: content must be non-empty`;
    const toolUses: string[] = [];
    const results: string[] = [];
    let seenNonResult = false;
    for (const [j, block] of content.entries()) {
      if (!isObject(block)) return `messages.${i}.content.${j}: expected an object`;
      if (block.type === 'text') {
        if (typeof block.text !== 'string' || block.text === '') {
          return `messages.${i}.content.${j}: text content blocks must be non-empty`;
        }
        seenNonResult = true;
      } else if (block.type === 'tool_use') {
        if (m.role !== 'assistant')
          return `messages.${i}.content.${j}: tool_use is only allowed in assistant messages`;
        if (!isObject(block.input))
          return `messages.${i}.content.${j}.input: Input should be a valid dictionary`;
        if (typeof block.id !== 'string' || !names.has(String(block.name))) {
          return `messages.${i}.content.${j}: tool_use must name a defined tool and have an id`;
        }
        toolUses.push(block.id);
      } else if (block.type === 'tool_result') {
        if (m.role !== 'user')
          return `messages.${i}.content.${j}: tool_result is only allowed in user messages`;
        if (seenNonResult) {
          return `messages.${i}: tool_result blocks must come first in the content, before any other block`;
        }
        if (!previousToolUses.includes(String(block.tool_use_id))) {
          return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
        }
        results.push(String(block.tool_use_id));
      } else {
        seenNonResult = true;
      }
    }
    if (m.role === 'user' && previousToolUses.length > 0) {
      const missing = previousToolUses.filter((id) => !results.includes(id));
      if (missing.length > 0) {
        return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    }
    previousToolUses = m.role === 'assistant' ? toolUses : [];
  }
  if ((messages.at(-1) as Json).role !== 'user' && previousToolUses.length > 0) {
    return 'messages: the last assistant message has tool_use blocks without results';
  }
  const breakpoints = countCacheControl(body);
  if (breakpoints > MAX_CACHE_BREAKPOINTS) {
    return `A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints}.`;
  }
  return undefined;
}
