/**
 * A session moves only forward: queued → building → deploying → live, and ends
 * expired, stopped or failed. Every change is written with its audit row.
 */
export const SESSION_STATUSES = [
  'queued',
  'building',
  'deploying',
  'live',
  'expired',
  'stopped',
  'failed',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const TERMINAL_SESSION_STATUSES: readonly SessionStatus[] = ['expired', 'stopped', 'failed'];
/** Statuses that count against "live sessions" quotas and that the reaper watches. */
export const ACTIVE_SESSION_STATUSES: readonly SessionStatus[] = ['queued', 'building', 'deploying', 'live'];

const PROGRESS_ORDER: Partial<Record<SessionStatus, number>> = {
  queued: 0,
  building: 1,
  deploying: 2,
  live: 3,
};

export function isTerminal(status: SessionStatus): boolean {
  return TERMINAL_SESSION_STATUSES.includes(status);
}

export function isSessionStatus(value: string): value is SessionStatus {
  return (SESSION_STATUSES as readonly string[]).includes(value);
}

/** Whether `from → to` is a legal change (a repeat of the same status is not a change). */
export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  if (isTerminal(from) || from === to) return false;
  if (isTerminal(to)) return true;
  const a = PROGRESS_ORDER[from];
  const b = PROGRESS_ORDER[to];
  return a !== undefined && b !== undefined && b > a;
}

/** A build is one generation of an app; iterations of a live app do not move the session back. */
export const BUILD_STATUSES = [
  'queued',
  'building',
  'deploying',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

export function isBuildFinished(status: BuildStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}
