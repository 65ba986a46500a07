import type { Config } from '../config/index.js';
import { defaultProvider } from '../provision/index.js';
import { CHECKS, type CheckResult, checkDatabase, checkQueues, checkRedisServer } from './checks.js';
import { checkConnections, hasConnections } from './connections.js';
import { checkSandbox } from './sandbox.js';

export type { CheckResult } from './checks.js';

/**
 * For every integration: configured and working, off, missing a variable, or unreachable.
 * Prints no secret: only variable names, hosts and HTTP statuses.
 */
export async function runDoctor(
  config: Config,
  fetchImpl: typeof fetch = fetch,
  /** Only these integrations (`spawnai doctor stripe railway`): an operator fixing one need not wait for all. */
  only: readonly string[] = [],
): Promise<CheckResult[]> {
  if (only.length > 0) {
    const unknown = only.filter((name) => !CHECK_NAMES.includes(name));
    if (unknown.length > 0) throw new UnknownCheckError(unknown);
  }
  const wanted = (name: string): boolean => only.length === 0 || only.includes(name);
  const results: CheckResult[] = [];
  if (wanted('database')) results.push(await checkDatabase(config));
  if (wanted('redis')) {
    const redis = await checkRedisServer(config);
    results.push(redis);
    if (redis.state === 'ok') {
      results.push(await checkQueues(config));
      if (hasConnections(config)) results.push(await checkConnections(config));
    }
  }
  const probes = CHECKS.filter((check) => wanted(check.name)).map(async (check): Promise<CheckResult> => {
    const on = check.switches.some((v) => config[v] !== undefined);
    const groups = check.requiresOneOf ?? [];
    const needed = [...check.requires, ...groups.map((g) => g.join(' or '))];
    if (!on) return { name: check.name, state: 'off', detail: `not configured (set ${needed.join(', ')})` };
    const missing = [
      ...check.requires.filter((v) => config[v] === undefined),
      ...groups.filter((g) => g.every((v) => config[v] === undefined)).map((g) => g.join(' or ')),
    ];
    if (missing.length > 0)
      return { name: check.name, state: 'incomplete', detail: `missing ${missing.join(', ')}` };
    return check.probe
      ? check.probe(config, fetchImpl)
      : { name: check.name, state: 'ok', detail: 'configured' };
  });
  results.push(...(await Promise.all(probes)));
  if (wanted('sandbox')) results.push(await checkSandbox(config));
  return results;
}

/** What `spawnai doctor <name>` accepts. */
export const CHECK_NAMES: readonly string[] = ['database', 'redis', ...CHECKS.map((c) => c.name), 'sandbox'];

export class UnknownCheckError extends Error {
  constructor(readonly names: readonly string[]) {
    super(
      `doctor knows no check named ${names.map((n) => `"${n}"`).join(', ')}; it knows ${CHECK_NAMES.join(', ')}`,
    );
    this.name = 'UnknownCheckError';
  }
}

const MARK: Record<CheckResult['state'], string> = {
  ok: '✓',
  off: '–',
  incomplete: '!',
  unreachable: '✗',
  rejected: '✗',
  degraded: '!',
};

export function formatDoctor(results: readonly CheckResult[], config: Config): string {
  const lines = results.map((r) => `${MARK[r.state]} ${r.name.padEnd(10)} ${r.state.padEnd(12)} ${r.detail}`);
  const builder = config.ANTHROPIC_API_KEY ? 'claude' : 'offline builder (no ANTHROPIC_API_KEY)';
  const provider = defaultProvider(config);
  lines.push('', `builder: ${builder}; provider: ${provider}; public URL: ${config.PUBLIC_URL}`);
  return `${lines.join('\n')}\n`;
}

/** Configured integrations that do not work make the doctor exit non-zero. */
export function doctorFailed(results: readonly CheckResult[]): boolean {
  return results.some(
    (r) =>
      r.state === 'unreachable' ||
      r.state === 'rejected' ||
      r.state === 'incomplete' ||
      r.state === 'degraded',
  );
}
