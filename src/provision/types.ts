import type { StoredBundle } from '../storage/types.js';

export type ProviderName = 'local' | 'railway' | 'render';

export interface DeployRequest {
  readonly sessionId: string;
  readonly buildId: string;
  readonly bundle: StoredBundle;
  /** A URL the provider can download the bundle from (cloud providers). */
  readonly bundleUrl: string;
  /** The bundle's bytes (local provider). */
  readonly fetchBundle: () => Promise<Buffer>;
  /** When the session ends; a provider may enforce it as a hard limit too. */
  readonly expiresAt?: Date;
  readonly onProgress: (detail: string) => void;
  readonly signal: AbortSignal;
}

export interface Deployment {
  readonly serviceId: string;
  /** Public preview URL; the worker waits until it answers 200 before telling anyone. */
  readonly url: string;
}

export interface ProviderService {
  readonly serviceId: string;
  /** The session the service belongs to, from its name (`spawn-<session>`). */
  readonly sessionId: string;
  readonly url?: string;
  readonly running: boolean;
}

/**
 * Runs apps. Every method is idempotent by session id: deploying a session that already
 * has a service replaces (or adopts) it instead of creating a second one.
 */
export interface Provider {
  readonly name: ProviderName;
  deploy(request: DeployRequest): Promise<Deployment>;
  /** Whether the session's service exists and runs. */
  status(sessionId: string): Promise<'running' | 'stopped' | 'missing'>;
  /** Removes the session's service; resolves when it is gone (or was never there). */
  destroy(sessionId: string): Promise<void>;
  /** Every service this provider runs for SpawnAI, for reconciliation. */
  list(): Promise<ProviderService[]>;
  /** Releases local resources on shutdown. */
  close?(): Promise<void>;
}

/** Cloud service names carry the session id so a retried deploy finds its service. */
export const SERVICE_NAME_PREFIX = 'spawn-';
export function serviceNameFor(sessionId: string): string {
  return `${SERVICE_NAME_PREFIX}${sessionId}`;
}
export function sessionIdFromServiceName(name: string): string | undefined {
  return name.startsWith(SERVICE_NAME_PREFIX) ? name.slice(SERVICE_NAME_PREFIX.length) : undefined;
}
