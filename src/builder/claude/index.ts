import type { Logger } from '../../log.js';
import {
  type Builder,
  type BuildRequest,
  type BuildResult,
  NO_USAGE,
  type RepairRequest,
  withUsage,
} from '../types.js';
import { APP_LIMITS, type AppLimits } from '../validate.js';
import { createAnthropicClient } from './client.js';
import { budgetError, ClaudeConversation } from './conversation.js';
import { DEFAULT_CLAUDE_MODEL, type Effort, pricingFor, type TokenPrices } from './models.js';
import { abortReason } from './stream.js';

export { DEFAULT_CLAUDE_MODEL } from './models.js';
export { PROMPT_VERSION } from './system-prompt.js';
export type { TokenPrices } from './usage.js';

/**
 * Options of {@link createClaudeBuilder}. Only `apiKey` and `logger` are required;
 * the rest have production defaults, and the retry and timing knobs exist so tests stay quick.
 */
export interface ClaudeBuilderOptions {
  readonly apiKey: string;
  /** ANTHROPIC_BASE_URL; default https://api.anthropic.com. */
  readonly baseURL?: string;
  /** ANTHROPIC_MODEL; a plan's `BuildRequest.model` wins. Default {@link DEFAULT_CLAUDE_MODEL}. */
  readonly model?: string;
  /**
   * Prices of a model the table in models.ts does not know (ANTHROPIC_PRICE_*); a known
   * model is always priced from the table.
   */
  readonly prices?: TokenPrices;
  /** ANTHROPIC_EFFORT; a plan's `BuildRequest.effort` wins. Default: the model's own. */
  readonly effort?: Effort;
  /** While the model thinks, the card's line changes this often. Default 5000. */
  readonly thinkingTickMs?: number;
  /** ANTHROPIC_TIMEOUT_MS: how long one request may wait for its response to start. Default 600 000. */
  readonly timeoutMs?: number;
  readonly logger: Logger;
  /** The SDK's retries of 429, 529, 5xx and connection errors, honouring retry-after. Default 2. */
  readonly maxRetries?: number;
  /** Restarts of a turn whose stream broke off (error event, cut, stall), per build. Default 2. */
  readonly maxStreamRetries?: number;
  /** First wait before such a restart; doubles each time, at most 8 s. Default 1000. */
  readonly streamRetryDelayMs?: number;
  /** A stream with no event for this long counts as broken. Default 120 000. */
  readonly streamIdleTimeoutMs?: number;
  /** Most requests in one build (the model writes, we answer, it goes on). Default 12. */
  readonly maxTurns?: number;
  /** Largest `max_tokens` of one request; the build's budget caps it further. Default 32 000. */
  readonly maxTokensPerTurn?: number;
  /** File count and size limits of an app. Default {@link APP_LIMITS}. */
  readonly limits?: AppLimits;
}

/**
 * How much earlier than its wall-time budget a build stops itself, so that our clear budget
 * error wins over the worker's stage timeout when both are set to the same time.
 */
const WALL_TIME_MARGIN_MAX_MS = 1000;

/**
 * The builder used with ANTHROPIC_API_KEY: Claude writes the app through tools, streamed, in
 * a conversation of a few turns; the result is validated before it is returned.
 */
export function createClaudeBuilder(options: ClaudeBuilderOptions): Builder {
  const defaultModel = options.model ?? DEFAULT_CLAUDE_MODEL;
  const logger = options.logger;
  const client = createAnthropicClient({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    timeoutMs: options.timeoutMs ?? 600_000,
    maxRetries: options.maxRetries ?? 2,
    logger,
  });
  /**
   * Runs one round of a conversation (the build, or a repair) within the build's wall-time
   * budget and the caller's signal; a failure carries what the round used, since it was billed.
   */
  async function round(
    request: BuildRequest,
    signal: AbortSignal,
    log: Logger,
    work: (signal: AbortSignal) => Promise<BuildResult>,
    usage: () => BuildResult['usage'],
  ): Promise<BuildResult> {
    signal.throwIfAborted();
    const controller = new AbortController();
    const onAbort = () => controller.abort(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const wallMs = request.budget.wallTimeMs;
    const timer = setTimeout(
      () => controller.abort(budgetError('time', request)),
      Math.max(0, wallMs - Math.min(WALL_TIME_MARGIN_MAX_MS, wallMs / 20)),
    );
    try {
      const result = await work(controller.signal);
      log.info({ usage: result.usage, files: result.files.length }, 'claude build done');
      return result;
    } catch (e) {
      // The tokens of a failed build were billed too: the processor writes them on the build row.
      log.warn({ usage: usage(), err: e instanceof Error ? e.message : String(e) }, 'claude build failed');
      throw withUsage(e, usage());
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    name: 'claude',
    label: `Claude (${defaultModel})`,
    async build(request: BuildRequest): Promise<BuildResult> {
      const model = request.model ?? defaultModel;
      const log = logger.child({ buildId: request.buildId, sessionId: request.sessionId, model });
      let conversation: ClaudeConversation | undefined;
      const withRepair = (result: BuildResult): BuildResult => ({
        ...result,
        repair: (repair: RepairRequest) =>
          round(
            request,
            repair.signal,
            log.child({ repair: repair.attempt }),
            (signal) => conversation!.repair({ ...repair, signal }),
            () => conversation!.usage(),
          ).then(withRepair),
      });
      const result = await round(
        request,
        request.signal,
        log,
        (signal) => {
          const effort = request.effort ?? options.effort;
          conversation = new ClaudeConversation(
            client,
            {
              model,
              pricing: pricingFor(model, options.prices),
              ...(effort ? { effort } : {}),
              limits: options.limits ?? APP_LIMITS,
              maxTurns: options.maxTurns ?? 12,
              maxTokensPerTurn: options.maxTokensPerTurn ?? 32_000,
              maxStreamRetries: options.maxStreamRetries ?? 2,
              streamRetryDelayMs: options.streamRetryDelayMs ?? 1000,
              streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 120_000,
              thinkingTickMs: options.thinkingTickMs ?? 5000,
            },
            request,
            signal,
            log,
          );
          return conversation.run();
        },
        () => conversation?.usage() ?? { ...NO_USAGE },
      );
      return withRepair(result);
    },
  };
}
