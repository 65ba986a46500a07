import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { createOfflineBuilder } from './offline/index.js';
import { fallbackPrices } from './prices.js';
import type { Builder } from './types.js';
import { withValidation } from './validate.js';

/**
 * Claude when ANTHROPIC_API_KEY is set, else the offline builder. Either way the files pass
 * the same validation before anything is stored. The Claude builder is loaded only when used:
 * the Anthropic SDK is about a third of a second of CPU at every start of a process that has
 * no key (a web role, the Quick start).
 */
export async function createBuilder(config: Config, logger: Logger): Promise<Builder> {
  if (config.ANTHROPIC_API_KEY) {
    const { createClaudeBuilder } = await import('./claude/index.js');
    const prices = fallbackPrices(config);
    return createClaudeBuilder({
      apiKey: config.ANTHROPIC_API_KEY,
      baseURL: config.ANTHROPIC_BASE_URL,
      model: config.ANTHROPIC_MODEL,
      timeoutMs: config.ANTHROPIC_TIMEOUT_MS,
      effort: config.ANTHROPIC_EFFORT,
      ...(prices ? { prices } : {}),
      logger,
    });
  }
  return withValidation(createOfflineBuilder({ stepDelayMs: config.OFFLINE_BUILD_STEP_MS }));
}
