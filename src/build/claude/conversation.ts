import type Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageParam,
  TextBlockParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import { SpawnError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { sleep } from '../../util/time.js';
import { titleFromPrompt } from '../offline/title.js';
import type { BuildRequest, BuildResult } from '../types.js';
import { type AppLimits, invalidAppMessage, pathProblem, validateApp } from '../validate.js';
import { StreamBroken, streamsKeptBreaking } from './errors.js';
import { abortReason, type StreamedBlock, type StreamedToolUse, streamTurn } from './stream.js';
import {
  changeText,
  currentAppText,
  firstBuildText,
  PROMPT_VERSION,
  SYSTEM_PROMPT,
} from './system-prompt.js';
import { parseToolCall, TOOLS, type ToolCall, Workspace } from './tools.js';
import { type TokenPrices, UsageMeter } from './usage.js';

/** How a build talks to Claude; every field has a default in index.ts. */
export interface ConversationSettings {
  readonly model: string;
  readonly prices: TokenPrices;
  readonly limits: AppLimits;
  readonly maxTurns: number;
  readonly maxTokensPerTurn: number;
  readonly maxStreamRetries: number;
  readonly streamRetryDelayMs: number;
  readonly streamIdleTimeoutMs: number;
}

const CACHE: { type: 'ephemeral' } = { type: 'ephemeral' };
/** Longest wait between restarts of a broken stream. */
const STREAM_RETRY_MAX_DELAY_MS = 8000;
/** Share of the build's percent spent writing files; the rest is starting and checking. */
const WRITING_START_PERCENT = 5;
const WRITING_SPAN_PERCENT = 85;
const CHECKING_PERCENT = 95;
/** Longest file path shown on the status card. */
const PROGRESS_PATH_MAX_CHARS = 60;

/** The stable system block: cached together with the tool definitions before it. */
const SYSTEM: TextBlockParam[] = [{ type: 'text', text: SYSTEM_PROMPT, cache_control: CACHE }];

/** ERR_BUILD_BUDGET naming the limit that was reached, for the person who asked. */
export function budgetError(what: 'tokens' | 'time', request: BuildRequest): SpawnError {
  const userMessage =
    what === 'tokens'
      ? `The build reached its output budget of ${request.budget.maxOutputTokens.toLocaleString('en-US')} tokens before the app was finished. Try asking for something smaller, or upgrade for a larger budget.`
      : `The build reached its time limit of ${Math.round(request.budget.wallTimeMs / 1000)} s before the app was finished. Try asking for something smaller, or upgrade for a longer limit.`;
  return new SpawnError('ERR_BUILD_BUDGET', undefined, { userMessage });
}

function shortPath(path: string): string {
  return path.length > PROGRESS_PATH_MAX_CHARS ? `...${path.slice(-(PROGRESS_PATH_MAX_CHARS - 3))}` : path;
}

/** The first user message: the request, and for an iteration the cached current app before it. */
function firstMessage(request: BuildRequest): MessageParam {
  if (!request.previousFiles) {
    return { role: 'user', content: [{ type: 'text', text: firstBuildText(request.prompt) }] };
  }
  return {
    role: 'user',
    content: [
      {
        type: 'text',
        text: currentAppText(request.originalPrompt, request.previousFiles),
        cache_control: CACHE,
      },
      { type: 'text', text: changeText(request.prompt) },
    ],
  };
}

/**
 * The messages of a request: a cache breakpoint moves to the end of the newest message, so
 * each turn of a build reads the turns before it from the cache. With the system block and
 * an iteration's files that makes at most three of the four breakpoints allowed.
 */
function withMovingBreakpoint(messages: readonly MessageParam[]): MessageParam[] {
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

function assistantMessage(blocks: readonly StreamedBlock[]): MessageParam {
  const content: ContentBlockParam[] = [];
  for (const block of blocks) {
    if (block.type === 'text' && block.text.trim() !== '') content.push({ type: 'text', text: block.text });
    if (block.type === 'tool_use') {
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
  return { role: 'assistant', content };
}

function toolResult(id: string, text: string, isError: boolean): ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: id, content: text, ...(isError ? { is_error: true } : {}) };
}

/**
 * One build: the conversation with Claude until it calls `finish` with an app that passes
 * validation, within the turn cap and the build's budget.
 */
export class ClaudeConversation {
  private readonly meter: UsageMeter;
  private readonly workspace: Workspace;
  private readonly messages: MessageParam[];
  /** Paths written in this build, for "wrote x (3/9)"; a restarted turn does not count twice. */
  private readonly announced = new Set<string>();
  private plannedFiles = 0;
  private percent = WRITING_START_PERCENT;
  private streamRetries = 0;
  private fixRequested = false;
  private nudged = false;

  constructor(
    private readonly client: Anthropic,
    private readonly settings: ConversationSettings,
    private readonly request: BuildRequest,
    private readonly signal: AbortSignal,
    private readonly log: Logger,
  ) {
    this.meter = new UsageMeter(settings.prices);
    this.workspace = new Workspace(settings.limits, request.previousFiles ?? []);
    this.messages = [firstMessage(request)];
  }

  /** What was used so far, for the log when a build fails. */
  usage() {
    return this.meter.usage();
  }

  private progress(detail: string, percent = this.percent): void {
    this.percent = Math.max(this.percent, Math.min(100, Math.round(percent)));
    this.request.onProgress({ percent: this.percent, detail });
  }

  /** Each finished file is a progress event, as soon as its tool call has streamed in. */
  private onToolUseDone = (block: StreamedToolUse): void => {
    if (block.name !== 'write_file') return;
    const parsed = parseToolCall(block.name, block.json);
    if (!parsed.ok || parsed.call.tool !== 'write_file') return;
    const { path, plannedFiles } = parsed.call;
    // A path the workspace will refuse is not a written file, and not something to show.
    if (pathProblem(path)) return;
    this.plannedFiles = Math.max(this.plannedFiles, plannedFiles ?? 0);
    this.announced.add(path);
    const n = this.announced.size;
    const total = Math.max(this.plannedFiles, n);
    const share = this.plannedFiles > 0 ? n / total : 1 - 0.85 ** n;
    this.progress(
      `wrote ${shortPath(path)} (${this.plannedFiles > 0 ? `${n}/${total}` : n})`,
      WRITING_START_PERCENT + WRITING_SPAN_PERCENT * share,
    );
  };

  async run(): Promise<BuildResult> {
    const { settings, request } = this;
    this.progress(request.previousFiles ? 'Claude is changing the app' : 'Claude is writing the app');
    for (let turn = 1; turn <= settings.maxTurns; turn++) {
      const result = await this.turn();
      this.log.debug({ turn, stopReason: result.stopReason, usage: result.usage }, 'claude turn done');

      if (result.stopReason === 'refusal') {
        throw new SpawnError('ERR_BUILD_FAILED', undefined, {
          userMessage: 'Claude declined to build this request.',
        });
      }
      if (result.stopReason === 'model_context_window_exceeded') {
        throw new SpawnError('ERR_BUILD_FAILED', undefined, {
          userMessage: 'This app has grown too large for the AI to change in one request.',
        });
      }
      const outOfTokens = request.budget.maxOutputTokens - this.meter.outputTokens <= 0;
      if (result.stopReason === 'max_tokens' && outOfTokens) throw budgetError('tokens', request);

      const toolUses = result.blocks.filter((b): b is StreamedToolUse => b.type === 'tool_use');
      if (toolUses.length === 0) {
        if (this.nudged) {
          throw new SpawnError('ERR_BUILD_FAILED', undefined, {
            userMessage: 'Claude stopped before finishing the app. Try asking again, perhaps more simply.',
          });
        }
        this.nudged = true;
        this.pushTurn(result.blocks, [
          {
            type: 'text',
            text: 'Work through the tools: write the files with write_file, then call finish.',
          },
        ]);
        continue;
      }

      const results: ToolResultBlockParam[] = [];
      let finish: (ToolCall & { tool: 'finish' }) | undefined;
      let finishId = '';
      for (const block of toolUses) {
        if (!block.complete) {
          results.push(
            toolResult(
              block.id,
              'Your answer was cut off by the output limit before this call was complete; nothing was done. Send it again, in smaller pieces.',
              true,
            ),
          );
          continue;
        }
        const parsed = parseToolCall(block.name, block.json);
        if (!parsed.ok) {
          results.push(toolResult(block.id, parsed.error, true));
          continue;
        }
        const call = parsed.call;
        if (call.tool === 'write_file') {
          const r = this.workspace.write(call.path, call.content);
          results.push(toolResult(block.id, r.text, r.isError));
        } else if (call.tool === 'delete_file') {
          const r = this.workspace.delete(call.path);
          results.push(toolResult(block.id, r.text, r.isError));
        } else {
          finish = call;
          finishId = block.id;
        }
      }

      if (finish) {
        this.progress('checking the app', CHECKING_PERCENT);
        const report = validateApp(this.workspace.list(), settings.limits);
        if (report.problems.length === 0) {
          this.progress('the app passed its checks', 100);
          return {
            files: report.files,
            title: finish.title || titleFromPrompt(request.originalPrompt),
            summary: finish.summary,
            usage: this.meter.usage(),
            model: settings.model,
            promptVersion: PROMPT_VERSION,
            findings: [...this.workspace.refusals, ...report.findings],
          };
        }
        if (this.fixRequested) throw new SpawnError('ERR_BUILD_INVALID', invalidAppMessage(report.problems));
        // A failed check is answered once: the model gets the reasons and one chance to fix them.
        this.fixRequested = true;
        this.log.info({ problems: report.problems }, 'generated app failed validation; asking for a fix');
        this.progress('fixing problems found by the checks');
        results.push(
          toolResult(
            finishId,
            `The app did not pass the checks:\n${report.problems.map((p) => `- ${p}`).join('\n')}\nFix these with the tools, then call finish again.`,
            true,
          ),
        );
      }
      this.pushTurn(result.blocks, results);
    }
    throw new SpawnError('ERR_BUILD_FAILED', undefined, {
      userMessage: `Claude did not finish the app within ${settings.maxTurns} steps. Try asking for something smaller.`,
    });
  }

  private pushTurn(blocks: readonly StreamedBlock[], reply: (ToolResultBlockParam | TextBlockParam)[]): void {
    // Tool results first, as the API requires, then any text.
    const ordered = [
      ...reply.filter((b) => b.type === 'tool_result'),
      ...reply.filter((b) => b.type === 'text'),
    ];
    this.messages.push(assistantMessage(blocks), { role: 'user', content: ordered });
  }

  /** One request, restarted (a bounded number of times) when its stream breaks off. */
  private async turn() {
    const { settings, request } = this;
    for (;;) {
      // Every request, a restarted one too, may only use what is left of the build's budget.
      const remaining = request.budget.maxOutputTokens - this.meter.outputTokens;
      if (remaining <= 0) throw budgetError('tokens', request);
      const maxTokens = Math.min(settings.maxTokensPerTurn, remaining);
      try {
        const result = await streamTurn(
          this.client,
          {
            model: settings.model,
            max_tokens: maxTokens,
            system: SYSTEM,
            tools: [...TOOLS],
            tool_choice: { type: 'any' },
            messages: withMovingBreakpoint(this.messages),
          },
          {
            signal: this.signal,
            idleTimeoutMs: settings.streamIdleTimeoutMs,
            onToolUseDone: this.onToolUseDone,
            model: settings.model,
          },
        );
        this.meter.add(result.usage);
        return result;
      } catch (e) {
        if (!(e instanceof StreamBroken)) throw e;
        this.meter.add(e.usage);
        if (this.streamRetries >= settings.maxStreamRetries) throw streamsKeptBreaking(e);
        this.streamRetries++;
        this.log.warn(
          { reason: e.reason, retry: this.streamRetries },
          'claude stream broke off; restarting the turn',
        );
        this.progress('the AI service broke off; trying again');
        const delay = Math.min(
          STREAM_RETRY_MAX_DELAY_MS,
          settings.streamRetryDelayMs * 2 ** (this.streamRetries - 1),
        );
        await sleep(delay * (1 - Math.random() * 0.25), this.signal).catch(() => {
          throw abortReason(this.signal);
        });
      }
    }
  }
}
