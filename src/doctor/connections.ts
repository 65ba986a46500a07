import type { Config } from '../config/index.js';
import { type PublishedLinkStatus, readLinkStatuses } from '../connections/published.js';
import { withCheckRedis } from './checks.js';
import type { CheckResult } from './types.js';

/** Whether this configuration has a long-lived connection for the bot role to hold. */
export function hasConnections(config: Config): boolean {
  return Boolean(
    (config.DISCORD_BOT_TOKEN && config.DISCORD_APPLICATION_ID && config.DISCORD_PUBLIC_KEY) ||
      config.SLACK_APP_TOKEN ||
      (config.TELEGRAM_BOT_TOKEN && !config.TELEGRAM_WEBHOOK_SECRET),
  );
}

function describe(s: PublishedLinkStatus, now: number): string {
  const where = `${s.platform} (${s.host} pid ${s.pid})`;
  if (s.state === 'connected') return `${where}: connected`;
  const since = Math.max(0, Math.round((now - Date.parse(s.since)) / 1000));
  const next = s.nextAttemptAt
    ? `, next attempt in ${Math.max(0, Math.round((Date.parse(s.nextAttemptAt) - now) / 1000))} s`
    : '';
  const tries = s.failures > 0 ? `, ${s.failures} failed attempt(s)` : '';
  return `${where}: ${s.state} for ${since} s${tries}${next}${s.error ? ` (${s.error})` : ''}`;
}

/**
 * The platform connections of the running service, as its bot processes report them in Redis:
 * a platform that cannot connect shows here as degraded (retried) or failed (needs the operator).
 */
export async function checkConnections(config: Config, now = Date.now()): Promise<CheckResult> {
  return withCheckRedis(config, 'connections', async (redis) => {
    const statuses = (await readLinkStatuses(redis, config.QUEUE_PREFIX)).sort((a, b) =>
      `${a.platform}${a.host}${a.pid}`.localeCompare(`${b.platform}${b.host}${b.pid}`),
    );
    if (statuses.length === 0) {
      return {
        name: 'connections',
        state: 'off',
        detail: 'no running `spawnai start` or `spawnai bot` reports a platform connection',
      };
    }
    const failed = statuses.some((s) => s.state === 'failed');
    const degraded = statuses.some((s) => s.state !== 'connected');
    return {
      name: 'connections',
      state: failed ? 'rejected' : degraded ? 'degraded' : 'ok',
      detail: statuses.map((s) => describe(s, now)).join('; '),
    };
  });
}
