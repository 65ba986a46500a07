import { randomBytes } from 'node:crypto';
import type { CacheAccount } from './cache.js';
import { estimateTokens } from './cache.js';
import { type FakeStopReason, type ScriptedMessage, toolId } from './script.js';

export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
  /** The first event of a content block (a test may pause before it). */
  readonly blockStart?: boolean;
}

export interface Rendered {
  readonly events: SseEvent[];
  /** The same answer as one JSON message, for `stream: false`. */
  readonly json: Record<string, unknown>;
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
  options: { model: string; maxTokens: number; input: CacheAccount },
): Rendered {
  const id = `msg_fake${randomBytes(8).toString('hex')}`;
  const size = msg.chunkChars ?? DEFAULT_CHUNK_CHARS;
  const usageBase = {
    input_tokens: options.input.inputTokens,
    cache_creation_input_tokens: options.input.cacheWriteTokens,
    cache_read_input_tokens: options.input.cacheReadTokens,
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
  let spent = 0;
  let truncated = false;
  let usedTool = false;

  for (const [index, block] of msg.content.entries()) {
    if (truncated) break;
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
