import type Anthropic from '@anthropic-ai/sdk';
import type {
  MessageParam,
  TextBlockParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import { SpawnError } from '../../errors.js';
import { backoffMs, retry } from '../../lib/retry.js';
import type { Logger } from '../../log.js';
import { titleFromPrompt } from '../offline/title.js';
import type { BuildProgress, BuildRequest, BuildResult, RepairRequest } from '../types.js';
import { type AppLimits, invalidAppMessage, pathProblem, validateApp } from '../validate.js';
import { StreamBroken, streamsKeptBreaking } from './errors.js';
import {
  assistantContent,
  CACHE,
  firstMessage,
  repairText,
  toolResult,
  userReply,
  withMovingBreakpoint,
} from './messages.js';
import type { Effort, ModelPricing } from './models.js';
import { capMaxTokens, requestShape } from './request-shape.js';
import {
  abortReason,
  type StreamedBlock,
  type StreamedToolUse,
  streamTurn,
  type TurnResult,
} from './stream.js';
import { PROMPT_VERSION, SYSTEM_PROMPT } from './system-prompt.js';
import { parseToolCall, TOOLS, type ToolCall, Workspace } from './tools.js';
import { UsageMeter } from './usage.js';

/** How a build talks to Claude; every field has a default in index.ts. */
export interface ConversationSettings {
  readonly model: string;
  readonly pricing: ModelPricing;
  readonly effort?: Effort;
  readonly limits: AppLimits;
  readonly maxTurns: number;
  readonly maxTokensPerTurn: number;
  readonly maxStreamRetries: number;
  readonly streamRetryDelayMs: number;
  readonly streamIdleTimeoutMs: number;
  /** While the model thinks, the card's line changes this often. */
  readonly thinkingTickMs: number;
}

/** Longest wait between restarts of a broken stream. */
const STREAM_RETRY_MAX_DELAY_MS = 8000;
/** Share of the build's percent spent writing files; the rest is starting and checking. */
const WRITING_START_PERCENT = 5;
const WRITING_SPAN_PERCENT = 85;
const CHECKING_PERCENT = 95;
/** Longest file path shown on the status card. */
const PROGRESS_PATH_MAX_CHARS = 60;
/** Longest summary taken from the model's text when it ends without calling finish. */
const SUMMARY_MAX_CHARS = 300;

/** The stable system block: cached together with the tool definitions before it. */
const SYSTEM: TextBlockParam[] = [{ type: 'text', text: SYSTEM_PROMPT, cache_control: CACHE }];

const NUDGE =
  'Work through the tools: write the files with write_file, then call finish. If every file is written, call finish now.';

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

/** The turn that ended in a passing `finish`, kept until the app is known to start. */
interface FinishedTurn {
  readonly blocks: readonly StreamedBlock[];
  readonly results: readonly ToolResultBlockParam[];
  /** The tool_use id of `finish`, answered by a repair turn; none when the model ended without it. */
  readonly finishId: string | undefined;
}

/**
 * One build: the conversation with Claude until it calls `finish` with an app that passes
 * validation, within the turn cap and the build's budget; then, while the app fails to start,
 * repair turns in the same conversation (thinking blocks and cache intact).
 */
export class ClaudeConversation {
  /** Everything the build used, repairs included: the output budget is the build's. */
  private readonly meter: UsageMeter;
  /** What the current round (the build, or one repair) used. */
  private roundMeter: UsageMeter;
  private readonly workspace: Workspace;
  private readonly messages: MessageParam[];
  /** Paths written in this round, for "wrote x (3/9)"; a restarted turn does not count twice. */
  private announced = new Set<string>();
  private plannedFiles = 0;
  private percent = WRITING_START_PERCENT;
  private streamRetries = 0;
  private fixRequested = false;
  private nudged = false;
  /** Whether this round wrote or deleted a file. */
  private changed = false;
  private finished: FinishedTurn | undefined;
  private sink: (progress: BuildProgress) => void;
  private signal: AbortSignal;

  constructor(
    private readonly client: Anthropic,
    private readonly settings: ConversationSettings,
    private readonly request: BuildRequest,
    signal: AbortSignal,
    private readonly log: Logger,
  ) {
    this.meter = new UsageMeter(settings.pricing);
    this.roundMeter = new UsageMeter(settings.pricing);
    this.workspace = new Workspace(settings.limits, request.previousFiles ?? []);
    this.messages = [firstMessage(request)];
    this.sink = request.onProgress;
    this.signal = signal;
  }

  /** What the current round used so far, for the build row when it fails. */
  usage() {
    return this.roundMeter.usage();
  }

  private progress(detail: string, percent = this.percent): void {
    this.percent = Math.max(this.percent, Math.min(100, Math.round(percent)));
    this.sink({ percent: this.percent, detail });
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
    this.progress(this.request.previousFiles ? 'Claude is changing the app' : 'Claude is writing the app');
    return this.loop();
  }

  /**
   * A repair turn: the deployed app did not start, so `finish` is answered with the failed
   * check and the app's last log lines, and the conversation goes on until `finish` again.
   */
  async repair(request: RepairRequest): Promise<BuildResult> {
    const finished = this.finished;
    if (!finished) throw new Error('repair() before a finished build');
    this.finished = undefined;
    this.sink = request.onProgress;
    this.signal = request.signal;
    this.roundMeter = new UsageMeter(this.settings.pricing);
    this.percent = WRITING_START_PERCENT;
    this.announced = new Set();
    this.plannedFiles = 0;
    this.fixRequested = false;
    this.nudged = false;
    this.changed = false;
    const text = repairText(request.failure);
    this.pushTurn(
      finished.blocks,
      finished.finishId
        ? [...finished.results, toolResult(finished.finishId, text, true)]
        : [...finished.results, { type: 'text', text }],
    );
    this.progress('Claude is reading the error');
    return this.loop();
  }

  private result(title: string, summary: string, findings = this.workspace.refusals): BuildResult {
    const report = validateApp(this.workspace.list(), this.settings.limits);
    return {
      files: report.files,
      title: title || titleFromPrompt(this.request.originalPrompt),
      summary,
      usage: this.roundMeter.usage(),
      model: this.settings.model,
      promptVersion: PROMPT_VERSION,
      findings: [...findings, ...report.findings],
    };
  }

  private async loop(): Promise<BuildResult> {
    const { settings, request } = this;
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
        const done = this.endedWithoutTools(result);
        if (done) return done;
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
          if (!r.isError) this.changed = true;
          results.push(toolResult(block.id, r.text, r.isError));
        } else if (call.tool === 'delete_file') {
          const r = this.workspace.delete(call.path);
          if (!r.isError) this.changed = true;
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
          this.finished = { blocks: result.blocks, results, finishId };
          return this.result(finish.title, finish.summary);
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

  /**
   * With `tool_choice: auto` the model may end a turn without a tool call. An app it changed
   * that passes the checks is taken as finished; otherwise it is asked once to go on, and a
   * second such turn ends the build. Never a loop.
   */
  private endedWithoutTools(result: TurnResult): BuildResult | undefined {
    const text = result.blocks
      .flatMap((b) => (b.type === 'text' ? [b.text] : []))
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (this.changed && validateApp(this.workspace.list(), this.settings.limits).problems.length === 0) {
      this.progress('the app passed its checks', 100);
      this.finished = { blocks: result.blocks, results: [], finishId: undefined };
      const summary = text.length > SUMMARY_MAX_CHARS ? `${text.slice(0, SUMMARY_MAX_CHARS - 3)}...` : text;
      return this.result('', summary);
    }
    if (this.nudged) {
      throw new SpawnError('ERR_BUILD_FAILED', undefined, {
        userMessage: 'Claude stopped before finishing the app. Try asking again, perhaps more simply.',
      });
    }
    this.nudged = true;
    this.pushTurn(result.blocks, [{ type: 'text', text: NUDGE }]);
    return undefined;
  }

  private pushTurn(blocks: readonly StreamedBlock[], reply: (ToolResultBlockParam | TextBlockParam)[]): void {
    const content = assistantContent(blocks);
    if (content.length > 0) {
      this.messages.push({ role: 'assistant', content }, { role: 'user', content: userReply(reply) });
      return;
    }
    // Nothing of the answer can go back (it was all cut off): the reply joins the last user message.
    const last = this.messages.at(-1);
    if (last?.role !== 'user') return;
    const earlier =
      typeof last.content === 'string' ? [{ type: 'text' as const, text: last.content }] : last.content;
    this.messages[this.messages.length - 1] = { role: 'user', content: [...earlier, ...userReply(reply)] };
  }

  /** While a thinking block streams, the card's line says so and keeps counting. */
  private thinkingTicker() {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      clearInterval(timer);
      timer = undefined;
    };
    return {
      onThinking: (thinking: boolean) => {
        stop();
        if (!thinking) return;
        const started = Date.now();
        this.progress('Claude is thinking');
        timer = setInterval(() => {
          this.progress(`Claude is thinking (${Math.round((Date.now() - started) / 1000)} s)`);
        }, this.settings.thinkingTickMs);
        timer.unref();
      },
      stop,
    };
  }

  /** One request, restarted (a bounded number of times) when its stream breaks off. */
  private async turn(): Promise<TurnResult> {
    const { settings } = this;
    try {
      return await retry(() => this.sendTurn(), {
        // The restarts are counted per build, not per turn: the bound is checked in `delay`.
        attempts: Number.POSITIVE_INFINITY,
        signal: this.signal,
        delay: (e) => {
          if (!(e instanceof StreamBroken) || this.streamRetries >= settings.maxStreamRetries)
            return undefined;
          this.streamRetries++;
          this.log.warn(
            { reason: e.reason, retry: this.streamRetries },
            'claude stream broke off; restarting the turn',
          );
          this.progress('the AI service broke off; trying again');
          return backoffMs(
            this.streamRetries,
            Math.random,
            settings.streamRetryDelayMs,
            STREAM_RETRY_MAX_DELAY_MS,
          );
        },
      });
    } catch (e) {
      if (e instanceof StreamBroken) throw streamsKeptBreaking(e);
      if (this.signal.aborted && e === this.signal.reason) throw abortReason(this.signal);
      throw e;
    }
  }

  /** One request of a turn; a broken stream's tokens are counted before it is thrown. */
  private async sendTurn(): Promise<TurnResult> {
    const { settings, request } = this;
    // Every request, a restarted one too, may only use what is left of the build's budget.
    const remaining = request.budget.maxOutputTokens - this.meter.outputTokens;
    if (remaining <= 0) throw budgetError('tokens', request);
    const maxTokens = capMaxTokens(settings.model, Math.min(settings.maxTokensPerTurn, remaining));
    const ticker = this.thinkingTicker();
    try {
      const result = await streamTurn(
        this.client,
        {
          model: settings.model,
          max_tokens: maxTokens,
          system: SYSTEM,
          tools: [...TOOLS],
          ...requestShape(settings.model, settings.effort),
          messages: withMovingBreakpoint(this.messages),
        },
        {
          signal: this.signal,
          idleTimeoutMs: settings.streamIdleTimeoutMs,
          onToolUseDone: this.onToolUseDone,
          onThinking: ticker.onThinking,
          model: settings.model,
        },
      );
      this.meter.add(result.usage);
      this.roundMeter.add(result.usage);
      return result;
    } catch (e) {
      if (e instanceof StreamBroken) {
        this.meter.add(e.usage);
        this.roundMeter.add(e.usage);
      }
      throw e;
    } finally {
      ticker.stop();
    }
  }
}
