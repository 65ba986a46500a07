import type {
  ContentBlockParam,
  ImageBlockParam,
  MessageParam,
  TextBlockParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import type { StartupFailure } from '../../errors.js';
import type { BuildRequest } from '../types.js';
import type { StreamedBlock } from './stream.js';
import { changeText, currentAppText, firstBuildText } from './system-prompt.js';

export const CACHE: { type: 'ephemeral' } = { type: 'ephemeral' };

/** Longest log line, and most lines, handed to the model in a repair turn. */
const REPAIR_LOG_LINE_MAX_CHARS = 300;
const REPAIR_LOG_MAX_LINES = 40;

/**
 * The request's pictures as `image` blocks with a base64 source, as the vision page shows them
 * (https://platform.claude.com/docs/en/build-with-claude/vision: `{"type": "image", "source":
 * {"type": "base64", "media_type": "image/jpeg", "data": ...}}`), placed before the text of the
 * request: "Claude works best when images come before text".
 */
export function imageBlocks(request: BuildRequest): ImageBlockParam[] {
  return (request.images ?? []).map((image) => ({
    type: 'image',
    source: { type: 'base64', media_type: image.mediaType, data: image.data.toString('base64') },
  }));
}

/** Says what the pictures are for, right after them. */
function picturesNote(request: BuildRequest): string {
  const n = request.images?.length ?? 0;
  if (n === 0) return '';
  return `${n === 1 ? 'The picture above was' : `The ${n} pictures above were`} attached by the person to this request: use ${n === 1 ? 'it' : 'them'} as the reference for how the app should look (layout, colours, content), together with their words.\n\n`;
}

/** The first user message: the request, and for an iteration the cached current app before it. */
export function firstMessage(request: BuildRequest): MessageParam {
  const images = imageBlocks(request);
  const note = picturesNote(request);
  if (!request.previousFiles) {
    return {
      role: 'user',
      content: [...images, { type: 'text', text: `${note}${firstBuildText(request.prompt)}` }],
    };
  }
  return {
    role: 'user',
    content: [
      {
        type: 'text',
        text: currentAppText(request.originalPrompt, request.previousFiles),
        cache_control: CACHE,
      },
      ...images,
      { type: 'text', text: `${note}${changeText(request.prompt)}` },
    ],
  };
}

/**
 * The messages of a request: a cache breakpoint moves to the end of the newest message, so
 * each turn of a build reads the turns before it from the cache. With the system block and
 * an iteration's files that makes at most three of the four breakpoints allowed.
 */
export function withMovingBreakpoint(messages: readonly MessageParam[]): MessageParam[] {
  const out = [...messages];
  const last = out.at(-1);
  if (last?.role !== 'user' || typeof last.content === 'string' || last.content.length === 0) {
    return out;
  }
  const content = [...last.content];
  const tail = content.at(-1)!;
  if (tail.type === 'text' || tail.type === 'tool_result') {
    content[content.length - 1] = { ...tail, cache_control: CACHE };
  }
  out[out.length - 1] = { ...last, content };
  return out;
}

/**
 * The assistant's turn as it goes back to the API: every block in the order it came, thinking
 * and redacted thinking exactly as received (their signature covers them; a dropped or changed
 * one is refused). Only a block the output limit cut off is left out: a thinking block without
 * its signature, which always comes last.
 */
export function assistantContent(blocks: readonly StreamedBlock[]): ContentBlockParam[] {
  const content: ContentBlockParam[] = [];
  for (const block of blocks) {
    if (block.type === 'thinking' && block.complete) {
      content.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
    } else if (block.type === 'redacted_thinking' && block.complete) {
      content.push({ type: 'redacted_thinking', data: block.data });
    } else if (block.type === 'text' && block.text !== '') {
      content.push({ type: 'text', text: block.text });
    } else if (block.type === 'tool_use') {
      // The API wants an object here; a malformed or cut-off input is sent back as {} and
      // answered with an error result.
      let input: unknown = {};
      try {
        const parsed: unknown = block.complete ? JSON.parse(block.json || '{}') : {};
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) input = parsed;
      } catch {}
      content.push({ type: 'tool_use', id: block.id, name: block.name, input });
    }
  }
  return content;
}

export function toolResult(id: string, text: string, isError: boolean): ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: id, content: text, ...(isError ? { is_error: true } : {}) };
}

/** Tool results first, as the API requires, then any text. */
export function userReply(reply: readonly (ToolResultBlockParam | TextBlockParam)[]): ContentBlockParam[] {
  return [...reply.filter((b) => b.type === 'tool_result'), ...reply.filter((b) => b.type === 'text')];
}

/**
 * The result of `finish` when the app was deployed and did not start: the failed check and the
 * last lines the app wrote. Those lines come from generated code: they are data for the model,
 * fenced, and never instructions of ours.
 */
export function repairText(failure: StartupFailure): string {
  const lines = failure.logTail
    .slice(-REPAIR_LOG_MAX_LINES)
    .map((l) => (l.length > REPAIR_LOG_LINE_MAX_CHARS ? `${l.slice(0, REPAIR_LOG_LINE_MAX_CHARS)}...` : l));
  return [
    `The app passed the checks and was started, but it did not come up: ${failure.check}.`,
    lines.length > 0
      ? `The last lines it wrote to stdout and stderr, oldest first:\n<app_log>\n${lines.join('\n')}\n</app_log>`
      : 'It wrote nothing to stdout or stderr.',
    'Find the cause and fix it with the tools (remember: listen on process.env.PORT, Node built-ins only, answer GET / with 200), then call finish again.',
  ].join('\n\n');
}
