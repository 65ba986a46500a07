import { type ClaudeBuilderOptions, createClaudeBuilder } from '../../../../src/build/claude/index.js';
import type { Builder, BuildProgress, BuildRequest } from '../../../../src/build/types.js';
import { silentLogger } from '../../../../src/log.js';
import type { FakeAnthropic } from '../../../fakes/anthropic/server.js';

export const PRICES = { inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75, cacheReadPerMTok: 0.3 };

/** The Claude builder pointed at the fake, with quick retries. */
export function builderFor(fake: FakeAnthropic, overrides: Partial<ClaudeBuilderOptions> = {}): Builder {
  return createClaudeBuilder({
    apiKey: 'test-key',
    baseURL: fake.url,
    model: 'claude-sonnet-5-5',
    prices: PRICES,
    logger: silentLogger(),
    timeoutMs: 5000,
    maxRetries: 2,
    streamRetryDelayMs: 5,
    streamIdleTimeoutMs: 2000,
    ...overrides,
  });
}

/** A build request that records its progress. */
export function buildRequest(
  overrides: Partial<BuildRequest> = {},
): BuildRequest & { progress: BuildProgress[] } {
  const progress: BuildProgress[] = [];
  return {
    sessionId: 'sess-1',
    buildId: 'build-1',
    prompt: 'a tip calculator',
    originalPrompt: 'a tip calculator',
    budget: { maxOutputTokens: 32_000, wallTimeMs: 30_000 },
    onProgress: (p) => progress.push(p),
    signal: new AbortController().signal,
    ...overrides,
    progress,
  };
}
