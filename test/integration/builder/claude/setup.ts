import { type ClaudeBuilderOptions, createClaudeBuilder } from '../../../../src/builder/claude/index.js';
import type { Builder, BuildProgress, BuildRequest } from '../../../../src/builder/types.js';
import { silentLogger } from '../../../../src/log.js';
import type { FakeAnthropic } from '../../../fakes/anthropic/server.js';

/**
 * Claude Sonnet 5.5's published prices (USD per million tokens), written out here rather than
 * read from the table, so a wrong table fails the tests: $2 input, $10 output, $2.50 5-minute
 * cache writes (https://platform.claude.com/docs/en/models/sonnet-5-5/overview) and $0.10 cache
 * reads since 2026-10-07 (https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide).
 */
export const PRICES = { inputPerMTok: 2, outputPerMTok: 10, cacheWritePerMTok: 2.5, cacheReadPerMTok: 0.1 };

/** The Claude builder pointed at the fake, with quick retries. */
export function builderFor(fake: FakeAnthropic, overrides: Partial<ClaudeBuilderOptions> = {}): Builder {
  return createClaudeBuilder({
    apiKey: 'test-key',
    baseURL: fake.url,
    model: 'claude-sonnet-5-5',
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
