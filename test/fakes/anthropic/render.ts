import { randomBytes } from 'node:crypto';
import type { CacheAccount } from './cache.js';
import { estimateTokens } from './cache.js';
import { type FakeBlock, type FakeStopReason, type ScriptedMessage, toolId } from './script.js';
import { type IssuedThinking, redactedData, signThinking } from './thinking.js';

// The SSE event sequence (message_start, content_block_start/delta/stop with text_delta,
// input_json_delta, thinking_delta and signature_delta, message_delta, message_stop) follows
// https://platform.claude.com/docs/en/build-with-claude/streaming. Thinking display
// (`omitted` by default: empty thinking text, signature only) and text between tool calls
// arriving inside thinking blocks follow
// https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5 and
// https://platform.claude.com/docs/en/build-with-claude/thinking-tool-workflows.

/** What a model that thinks writes when the script says nothing of it. */
const DEFAULT_THINKING =
  'The person wants a small app. I will write the files with the tools, then call finish.';

/** How the model thinks for this request. */
export interface ThinkingMode {
  /** Whether it thinks at all: thinking blocks are streamed only then. */
  readonly on: boolean;
  /** `omitted` sends an empty text and the signature; `summarized` streams the text too. */
  readonly display: 'summarized' | 'omitted';
}

export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
  /** The first event of a content block (a test may pause before it). */
  readonly blockStart?: boolean;
  /** The signature that ends a thinking block (a test may hold the model "thinking" before it). */
  readonly thinkingEnd?: boolean;
}

export interface Rendered {
  readonly events: SseEvent[];
  /** The same answer as one JSON message, for `stream: false`. */
  readonly json: Record<string, unknown>;
  /** The thinking blocks sent (complete ones only) and the tool calls, for the ledger. */
  readonly thinking: readonly IssuedThinking[];
  readonly toolUseIds: readonly string[];
}

/** The scripted blocks as this request gets them: thinking only when the model thinks. */
function blocksFor(msg: ScriptedMessage, mode: ThinkingMode): FakeBlock[] {
  const isThinking = (b: FakeBlock) => b.type === 'thinking' || b.type === 'redacted_thinking';
  if (!mode.on) return msg.content.filter((b) => !isThinking(b));
  if (msg.content.some(isThinking)) return [...msg.content];
  return [{ type: 'thinking', thinking: DEFAULT_THINKING }, ...msg.content];
}

const DEFAULT_CHUNK_CHARS = 40;

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * Turns a scripted answer into the SSE events the API sends: `message_start` (input and
 * cache usage), a `ping`, per block `content_block_start` / deltas / `content_block_stop`,
 * `message_delta` (stop reason, cumulative usage), `message_stop`. Output beyond the
 * request's `max_tokens` is cut off there, with `stop_reason: max_tokens`, as the API does.
 */
export function renderMessage(
  msg: ScriptedMessage,
  options: { model: string; maxTokens: number; input: CacheAccount; thinking: ThinkingMode },
): Rendered {
  const id = `msg_fake${randomBytes(8).toString('hex')}`;
  const size = msg.chunkChars ?? DEFAULT_CHUNK_CHARS;
  const input = msg.inputUsage ?? options.input;
  const usageBase = {
    input_tokens: input.inputTokens,
    cache_creation_input_tokens: input.cacheWriteTokens,
    cache_read_input_tokens: input.cacheReadTokens,
  };
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model: options.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usageBase, output_tokens: 1, service_tier: 'standard' },
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  const jsonContent: Record<string, unknown>[] = [];
  const issued: IssuedThinking[] = [];
  const toolUseIds: string[] = [];
  let spent = 0;
  let truncated = false;
  let usedTool = false;

  for (const [index, block] of blocksFor(msg, options.thinking).entries()) {
    if (truncated) break;
    if (block.type === 'redacted_thinking') {
      const data = redactedData();
      events.push(
        {
          event: 'content_block_start',
          data: { type: 'content_block_start', index, content_block: { type: 'redacted_thinking', data } },
          blockStart: true,
        },
        { event: 'content_block_stop', data: { type: 'content_block_stop', index } },
      );
      jsonContent.push({ type: 'redacted_thinking', data });
      issued.push({ type: 'redacted_thinking', data });
      continue;
    }
    if (block.type === 'thinking') {
      // Thinking tokens are output tokens, billed whether or not their text is displayed.
      const cost = estimateTokens(block.thinking);
      const summarized = options.thinking.display === 'summarized';
      const shown = summarized ? block.thinking : '';
      events.push({
        event: 'content_block_start',
        data: {
          type: 'content_block_start',
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        },
        blockStart: true,
      });
      if (spent + cost > options.maxTokens) {
        truncated = true;
        spent = options.maxTokens;
        events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
        break;
      }
      spent += cost;
      if (summarized) {
        for (const piece of chunks(block.thinking, size)) {
          events.push({
            event: 'content_block_delta',
            data: { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } },
          });
        }
      }
      const signature = signThinking(options.model, shown);
      // The signature arrives "in a signature_delta event just before the block's
      // content_block_stop event" (SDK SignatureDelta, from the streaming reference).
      events.push(
        {
          event: 'content_block_delta',
          data: { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature } },
          thinkingEnd: true,
        },
        { event: 'content_block_stop', data: { type: 'content_block_stop', index } },
      );
      jsonContent.push({ type: 'thinking', thinking: shown, signature });
      issued.push({ type: 'thinking', thinking: shown, signature });
      continue;
    }
    let start: Record<string, unknown>;
    let pieces: string[];
    let deltaType: 'text_delta' | 'input_json_delta';
    if (block.type === 'text') {
      start = { type: 'text', text: '' };
      pieces = chunks(block.text, size);
      deltaType = 'text_delta';
      jsonContent.push({ type: 'text', text: block.text });
    } else {
      usedTool = true;
      const toolUseId = block.id ?? toolId();
      toolUseIds.push(toolUseId);
      start = { type: 'tool_use', id: toolUseId, name: block.name, input: {} };
      const json = block.type === 'tool_use' ? JSON.stringify(block.input) : block.json;
      // The first fragment of a tool input is often empty, as on the real API.
      pieces = ['', ...chunks(json, size)];
      deltaType = 'input_json_delta';
      let input: unknown = {};
      try {
        input = JSON.parse(json);
      } catch {}
      jsonContent.push({ type: 'tool_use', id: toolUseId, name: block.name, input });
    }
    events.push({
      event: 'content_block_start',
      data: { type: 'content_block_start', index, content_block: start },
      blockStart: true,
    });
    for (const piece of pieces) {
      const cost = piece === '' ? 0 : estimateTokens(piece);
      if (spent + cost > options.maxTokens) {
        truncated = true;
        break;
      }
      spent += cost;
      const delta =
        deltaType === 'text_delta'
          ? { type: 'text_delta', text: piece }
          : { type: 'input_json_delta', partial_json: piece };
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta } });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  }

  const stopReason: FakeStopReason = truncated
    ? 'max_tokens'
    : (msg.stopReason ?? (usedTool ? 'tool_use' : 'end_turn'));
  const outputTokens = truncated ? options.maxTokens : (msg.outputTokens ?? Math.max(1, spent));
  events.push({
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { ...usageBase, output_tokens: outputTokens },
    },
  });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return {
    thinking: issued,
    toolUseIds,
    events,
    json: {
      id,
      type: 'message',
      role: 'assistant',
      model: options.model,
      content: jsonContent,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { ...usageBase, output_tokens: outputTokens, service_tier: 'standard' },
    },
  };
}
