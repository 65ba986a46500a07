import path from 'node:path';
import type { Config } from '../config/index.js';
import { defaultProvider } from '../provision/index.js';
import { detectSandbox } from '../provision/local/sandbox.js';
import type { CheckResult } from './checks.js';

/**
 * The local apps' sandbox: bubblewrap and what it enforces on this machine, or why there is
 * none and how to get it. Missing while Claude's apps would run locally (and the operator did
 * not opt out) is a problem; with the offline builder only its own templates run locally.
 */
export async function checkSandbox(config: Config): Promise<CheckResult> {
  const name = 'sandbox';
  const report = await detectSandbox(path.join(config.DATA_DIR, 'apps'), {
    bwrap: config.LOCAL_SANDBOX_BWRAP,
  });
  if (report.sandbox.kind === 'bubblewrap') {
    const gaps = report.notEnforced.length > 0 ? `; not enforced here: ${report.notEnforced.join('; ')}` : '';
    const limits = report.sandbox.cgroups
      ? `cgroup v${report.sandbox.cgroups.version} limits`
      : 'rlimits only';
    return { name, state: 'ok', detail: `bubblewrap (${report.sandbox.bwrap}), ${limits}${gaps}` };
  }
  const claudeHere = Boolean(config.ANTHROPIC_API_KEY) && defaultProvider(config) === 'local';
  if (config.LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX) {
    return {
      name,
      state: 'ok',
      detail: `none (${report.sandbox.reason}); LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX runs Claude's apps unsandboxed`,
    };
  }
  return {
    name,
    state: claudeHere ? 'incomplete' : 'off',
    detail: `none: ${report.sandbox.reason}; until then only the offline builder's templates run locally`,
  };
}
