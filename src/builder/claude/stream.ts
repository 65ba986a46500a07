import type Anthropic from '@anthropic-ai/sdk';
import { APIError } from '@anthropic-ai/sdk';
import type {
  MessageCreateParamsStreaming,
  RawMessageStreamEvent,
  Usage,
} from '@anthropic-ai/sdk/resources/messages';
import { mapApiError, StreamBroken } from './errors.js';
import { emptyTurnUsage, type TurnUsage } from './usage.js';

export interface StreamedText {
  readonly type: 'text';
  text: string;
}

export interface StreamedToolUse {
  readonly type: 'tool_use';
  readonly id: string;
  readonly name: string;
  /** The input exactly as streamed (`input_json_delta` pieces joined); parsed strictly later. */
  json: string;
  /** Set at `content_block_stop`; a block cut off by `max_tokens` never gets it. */
  complete: boolean;
}

/**
 * A thinking block: sent back with the rest of its turn exactly as received (the signature
 * covers it). With the default `display: "omitted"` its text is empty and only the signature
 * arrives (`signature_delta`, just before `content_block_stop`).
 */
export interface StreamedThinking {
  readonly type: 'thinking';
  thinking: string;
  signature: string;
  /** Set at `content_block_stop`; a block cut off by `max_tokens` has no signature and is not sent back. */
  complete: boolean;
}

/** Thinking the API encrypted: `data` is opaque and goes back unchanged. */
export interface StreamedRedactedThinking {
  readonly type: 'redacted_thinking';
  readonly data: string;
  complete: boolean;
}

/** Blocks of a kind the builder never asks for (server tools and the like). */
export interface StreamedOther {
  readonly type: 'other';
}

export type StreamedBlock =
  | StreamedText
  | StreamedToolUse
  | StreamedThinking
  | StreamedRedactedThinking
  | StreamedOther;

/** One complete answer: the stream reached `message_stop`. */
export interface TurnResult {
  readonly blocks: readonly StreamedBlock[];
  readonly stopReason: string | null;
  readonly usage: TurnUsage;
}

export interface TurnOptions {
  /** The build's signal: the caller's cancellation and the wall-time budget. */
  readonly signal: AbortSignal;
  /** A stream with no event for this long is treated as broken. */
  readonly idleTimeoutMs: number;
  /** Called as each tool call's input is complete, while the stream goes on. */
  readonly onToolUseDone?: (block: StreamedToolUse) => void;
  /** Called when a thinking block starts and when it ends: the model is thinking meanwhile. */
  readonly onThinking?: (thinking: boolean) => void;
  /** The model named in error messages. */
  readonly model: string;
}

/** The reason a build was stopped, as an Error to rethrow. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('The build was cancelled.');
}

function startUsage(usage: Usage, into: TurnUsage): void {
  into.inputTokens = usage.input_tokens ?? 0;
  into.outputTokens = usage.output_tokens ?? 0;
  into.cacheReadTokens = usage.cache_read_input_tokens ?? 0;
  into.cacheWriteTokens = usage.cache_creation_input_tokens ?? 0;
}

/**
 * Sends one request with `stream: true` and reads its events into blocks. HTTP errors
 * (after the SDK's own retries of 429/529/5xx) become SpawnErrors; anything that goes wrong
 * after the stream began becomes {@link StreamBroken}, and so does a stream that ends
 * without `message_stop`: an answer is only complete when the API says it is.
 */
export async function streamTurn(
  client: Anthropic,
  params: Omit<MessageCreateParamsStreaming, 'stream'>,
  options: TurnOptions,
): Promise<TurnResult> {
  const { signal } = options;
  signal.throwIfAborted();
  // Our own controller: the SDK's timeout only covers the wait for response headers, so a
  // stream that goes quiet afterwards is ended by the idle timer below.
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let idleTimer: NodeJS.Timeout | undefined;
  let stalled = false;
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      stalled = true;
      controller.abort(new Error('stream idle'));
    }, options.idleTimeoutMs);
  };

  const usage = emptyTurnUsage();
  const blocks: StreamedBlock[] = [];
  let stopReason: string | null = null;
  let started = false;
  let stopped = false;
  try {
    let stream: AsyncIterable<RawMessageStreamEvent>;
    try {
      stream = await client.messages.create({ ...params, stream: true }, { signal: controller.signal });
    } catch (e) {
      if (signal.aborted) throw abortReason(signal);
      throw mapApiError(e, options.model);
    }
    armIdle();
    try {
      for await (const event of stream) {
        armIdle();
        switch (event.type) {
          case 'message_start':
            started = true;
            startUsage(event.message.usage, usage);
            break;
          case 'content_block_start': {
            const block = event.content_block;
            if (block.type === 'text') blocks[event.index] = { type: 'text', text: block.text ?? '' };
            else if (block.type === 'thinking') {
              blocks[event.index] = {
                type: 'thinking',
                thinking: block.thinking ?? '',
                signature: block.signature ?? '',
                complete: false,
              };
              options.onThinking?.(true);
            } else if (block.type === 'redacted_thinking') {
              blocks[event.index] = { type: 'redacted_thinking', data: block.data, complete: false };
            } else if (block.type === 'tool_use') {
              blocks[event.index] = {
                type: 'tool_use',
                id: block.id,
                name: block.name,
                json: '',
                complete: false,
              };
            } else blocks[event.index] = { type: 'other' };
            break;
          }
          case 'content_block_delta': {
            const block = blocks[event.index];
            if (event.delta.type === 'text_delta' && block?.type === 'text') block.text += event.delta.text;
            else if (event.delta.type === 'input_json_delta' && block?.type === 'tool_use') {
              block.json += event.delta.partial_json;
            } else if (event.delta.type === 'thinking_delta' && block?.type === 'thinking') {
              block.thinking += event.delta.thinking;
            } else if (event.delta.type === 'signature_delta' && block?.type === 'thinking') {
              block.signature += event.delta.signature;
            }
            break;
          }
          case 'content_block_stop': {
            const block = blocks[event.index];
            if (block?.type === 'tool_use') {
              block.complete = true;
              options.onToolUseDone?.(block);
            } else if (block?.type === 'thinking') {
              block.complete = block.signature !== '';
              options.onThinking?.(false);
            } else if (block?.type === 'redacted_thinking') {
              block.complete = true;
            }
            break;
          }
          case 'message_delta':
            stopReason = event.delta.stop_reason ?? null;
            // Cumulative totals: overwrite when present, never add.
            usage.outputTokens = event.usage.output_tokens ?? usage.outputTokens;
            if (event.usage.input_tokens != null) usage.inputTokens = event.usage.input_tokens;
            if (event.usage.cache_read_input_tokens != null) {
              usage.cacheReadTokens = event.usage.cache_read_input_tokens;
            }
            if (event.usage.cache_creation_input_tokens != null) {
              usage.cacheWriteTokens = event.usage.cache_creation_input_tokens;
            }
            break;
          case 'message_stop':
            stopped = true;
            break;
        }
      }
    } catch (e) {
      if (signal.aborted) throw abortReason(signal);
      if (stalled) throw new StreamBroken(`no data for ${options.idleTimeoutMs} ms`, usage);
      const what = e instanceof APIError ? `error event (${e.message.slice(0, 120)})` : 'connection lost';
      throw new StreamBroken(what, usage, { cause: e });
    }
    // The SDK ends the iteration quietly when its request is aborted.
    if (signal.aborted) throw abortReason(signal);
    if (stalled) throw new StreamBroken(`no data for ${options.idleTimeoutMs} ms`, usage);
    if (!started || !stopped) throw new StreamBroken('the stream ended before message_stop', usage);
    return { blocks: blocks.filter((b) => b !== undefined), stopReason, usage };
  } finally {
    clearTimeout(idleTimer);
    signal.removeEventListener('abort', onAbort);
  }
}
