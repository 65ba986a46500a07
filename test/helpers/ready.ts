import type { LinkStatus } from '../../src/connections/supervisor.js';

/** A platform connection as `/ready` reports it. */
export type ReadyLink = Omit<LinkStatus, 'platform'>;

/** The body of `GET /ready`. */
export interface Ready {
  readonly status: string;
  readonly checks: Record<string, string>;
  readonly platforms?: Record<string, ReadyLink>;
  readonly message?: string;
}

/** `GET /ready` of a running service: its HTTP status and body (200 also when degraded). */
export async function readReady(url: string): Promise<{ status: number; body: Ready }> {
  const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Ready };
}
