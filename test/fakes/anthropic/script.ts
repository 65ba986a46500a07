/**
 * What a test scripts the fake Anthropic API to answer, one entry per `POST /v1/messages`.
 * Block and stop-reason names are those of the Messages API
 * (https://platform.claude.com/docs/en/api/messages); thinking and redacted_thinking blocks as
 * https://platform.claude.com/docs/en/build-with-claude/thinking-tool-workflows describes them.
 * Entries are consumed in order; a 401 for a wrong key consumes none.
 */

export type FakeStopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'pause_turn'
  | 'refusal'
  | 'model_context_window_exceeded';

export type FakeBlock =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly name: string; readonly input: unknown; readonly id?: string }
  /** A tool call whose streamed input is exactly this text, valid JSON or not. */
  | { readonly type: 'tool_use_raw'; readonly name: string; readonly json: string; readonly id?: string }
  /**
   * A thinking block: its text streams only with `display: "summarized"`; the signature always
   * does. A model that thinks gets one before the first block when the script has none.
   */
  | { readonly type: 'thinking'; readonly thinking: string }
  /** Thinking the API encrypted: an opaque `data` string. */
  | { readonly type: 'redacted_thinking' };

/** How a streamed answer breaks off after `afterEvents` SSE events (pings not counted). */
export type FakeBreak =
  /** `event: error` with this error type, then the response ends. */
  | {
      readonly kind: 'error';
      readonly afterEvents: number;
      readonly errorType?: string;
      readonly message?: string;
    }
  /** The TCP connection is destroyed mid-response. */
  | { readonly kind: 'cut'; readonly afterEvents: number }
  /** The response ends cleanly, without `message_stop`. */
  | { readonly kind: 'end'; readonly afterEvents: number }
  /** Nothing more is sent; the connection stays open until the client gives up. */
  | { readonly kind: 'stall'; readonly afterEvents: number };

export interface ScriptedMessage {
  readonly kind: 'message';
  readonly content: readonly FakeBlock[];
  /** Default: `tool_use` when the content calls a tool, else `end_turn` (or `max_tokens` when truncated). */
  readonly stopReason?: FakeStopReason;
  /** Reported output tokens; default: estimated from the content (4 characters a token). */
  readonly outputTokens?: number;
  /** Reported prompt tokens, instead of the fake's own estimate and cache accounting. */
  readonly inputUsage?: {
    readonly inputTokens: number;
    readonly cacheReadTokens: number;
    readonly cacheWriteTokens: number;
  };
  /** Pause before each content block, to pace progress. */
  readonly blockDelayMs?: number;
  /** Awaited before a thinking block's signature is sent: the model is still thinking meanwhile. */
  readonly holdThinking?: () => Promise<void>;
  /** Characters per `input_json_delta` / `text_delta` piece. Default 40. */
  readonly chunkChars?: number;
  readonly break?: FakeBreak;
}

export interface ScriptedHttpError {
  readonly kind: 'http-error';
  readonly status: number;
  /** `error.type` in the body: rate_limit_error, overloaded_error, api_error, ... */
  readonly type: string;
  readonly message?: string;
  /** `retry-after` header, as the API sends it (seconds). */
  readonly retryAfter?: string;
  /** `error.details.error_code`, e.g. enforced_spend_limit_reached. */
  readonly errorCode?: string;
}

export type Scripted = ScriptedMessage | ScriptedHttpError;

let toolSeq = 0;
export const toolId = (): string => `toolu_fake${String(++toolSeq).padStart(8, '0')}`;

export function message(
  content: readonly FakeBlock[],
  extra: Omit<ScriptedMessage, 'kind' | 'content'> = {},
): ScriptedMessage {
  return { kind: 'message', content, ...extra };
}

export function writeFile(path: string, content: string, plannedFiles?: number): FakeBlock {
  return {
    type: 'tool_use',
    name: 'write_file',
    input: { path, ...(plannedFiles ? { planned_files: plannedFiles } : {}), content },
  };
}

export function deleteFile(path: string): FakeBlock {
  return { type: 'tool_use', name: 'delete_file', input: { path } };
}

export function finish(title: string, summary: string): FakeBlock {
  return { type: 'tool_use', name: 'finish', input: { title, summary } };
}

export function text(t: string): FakeBlock {
  return { type: 'text', text: t };
}

export function thinking(t: string): FakeBlock {
  return { type: 'thinking', thinking: t };
}

export function redactedThinking(): FakeBlock {
  return { type: 'redacted_thinking' };
}

export function httpError(
  status: number,
  type: string,
  options: Omit<ScriptedHttpError, 'kind' | 'status' | 'type'> = {},
): ScriptedHttpError {
  return { kind: 'http-error', status, type, ...options };
}

/** A package.json and a server.js on node:http that the local provider can run. */
export function nodeApp(title: string, body = `<h1>${title}</h1>`): { path: string; content: string }[] {
  return [
    {
      path: 'package.json',
      content: `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, scripts: { start: 'node server.js' } }, null, 2)}\n`,
    },
    {
      path: 'server.js',
      content: [
        "const http = require('node:http');",
        'const PORT = Number(process.env.PORT) || 3000;',
        `const PAGE = ${JSON.stringify(`<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`)};`,
        'http',
        '  .createServer((req, res) => {',
        "    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });",
        '    res.end(PAGE);',
        '  })',
        '  .listen(PORT);',
        '',
      ].join('\n'),
    },
  ];
}
