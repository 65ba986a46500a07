import { sleep } from '../../util/time.js';
import { type Builder, type BuildRequest, type BuildResult, NO_USAGE } from '../types.js';
import { manifestFile, packageJsonFile } from './manifest.js';
import { planFirstBuild, planIteration } from './plan.js';
import { TEMPLATES } from './templates/index.js';

export { chooseTemplate } from './choose.js';
export { OFFLINE_LIMITS_NOTE } from './plan.js';
export { titleFromPrompt } from './title.js';

export const OFFLINE_PROMPT_VERSION = 'offline-1';
export const OFFLINE_LABEL = 'the offline builder (no ANTHROPIC_API_KEY set)';

const CHOOSING_PERCENT = 5;

/**
 * The builder used without ANTHROPIC_API_KEY: a runnable app from one of six templates chosen
 * by the prompt's keywords. A follow-up can change only the theme, accent colour and title.
 */
export interface OfflineBuilderOptions {
  /** A pause after each file, so progress can be watched in demos (and workers killed mid-build in tests). */
  stepDelayMs?: number;
}

export function createOfflineBuilder(options: OfflineBuilderOptions = {}): Builder {
  const stepDelayMs = options.stepDelayMs ?? 0;
  return {
    name: 'offline',
    label: OFFLINE_LABEL,
    async build(request: BuildRequest): Promise<BuildResult> {
      const { signal, onProgress } = request;
      signal.throwIfAborted();
      onProgress({ percent: CHOOSING_PERCENT, detail: 'choosing a template' });
      const plan = request.previousFiles ? planIteration(request) : planFirstBuild(request.prompt);

      const files = [
        packageJsonFile(plan.spec),
        ...TEMPLATES[plan.spec.template].render(plan.spec),
        manifestFile(plan.spec),
      ];
      for (const [i, file] of files.entries()) {
        if (stepDelayMs > 0) await sleep(stepDelayMs, signal);
        signal.throwIfAborted();
        const done = i + 1;
        onProgress({
          percent: Math.round(CHOOSING_PERCENT + ((100 - CHOOSING_PERCENT) * done) / files.length),
          detail: `wrote ${file.path} (${done}/${files.length})`,
        });
      }
      return {
        files,
        title: plan.spec.title,
        summary: plan.summary,
        usage: NO_USAGE,
        findings: [],
        promptVersion: OFFLINE_PROMPT_VERSION,
      };
    },
  };
}
