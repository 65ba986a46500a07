import type { StoredBundle } from '../storage/types.js';

export type ProviderName = 'local' | 'railway' | 'render';

/**
 * Who wrote an app's code: the offline builder's own templates (SpawnAI's code), or a model
 * (code nobody reviewed, which runs locally only in a sandbox).
 */
export type CodeOrigin = 'template' | 'generated';

/** The origin of a build's code from the builder that wrote it (`builds.builder`). */
export function originOf(builder: string | null | undefined): CodeOrigin {
  return builder === 'offline' ? 'template' : 'generated';
}

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
  /** Who wrote the code; unset counts as `generated`. */
  readonly origin?: CodeOrigin;
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
  /**
   * Opens what the provider serves in this process (the local provider's preview port) and
   * takes over apps a dead process left running. Called by the process that deploys.
   */
  start?(): Promise<void>;
  /**
   * Refuses up front, before anything is built, code this provider will not run.
   *
   * @throws SpawnError `ERR_SANDBOX_UNAVAILABLE` saying where such an app can run instead.
   */
  assertCanRun?(origin: CodeOrigin): Promise<void>;
  /** What an operator should know about this provider on this machine, in plain words (said at start). */
  notices?(): Promise<string[]>;
  /** Why the session's app was ended by one of its limits ("it used more than 256 MB of memory"), if it was. */
  stopReason?(sessionId: string): Promise<string | undefined>;
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
