import { SpawnError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { type AppLimits, DEFAULT_APP_LIMITS } from './limits.js';
import type { SandboxOptions } from './sandbox.js';

/** How long an app may take to accept connections, unless `startTimeoutMs` says otherwise. */
export const LOCAL_START_TIMEOUT_MS = 15_000;
/** How often running apps are checked against their folder, process and log limits. */
export const LOCAL_WATCH_INTERVAL_MS = 2_000;
/** Session ids become host names (`<id>.localhost`): DNS labels only. */
export const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export interface LocalProviderOptions {
  /** Folder holding one folder per session (`<sessionId>/app`, `run/`, `app.log`, `state.json`). */
  readonly appsDir: string;
  /** What each app may use; unset ones keep {@link DEFAULT_APP_LIMITS}. */
  readonly limits?: Partial<AppLimits>;
  /** Apps get the host names `<sessionId>.<previewHost>`; `localhost` works in every browser. */
  readonly previewHost: string;
  /** The one port every preview is served on; 0 picks a free one. */
  readonly previewPort: number;
  /** Interface the preview port listens on. Default 127.0.0.1. */
  readonly previewListenHost?: string;
  readonly logger: Logger;
  /** How long an app may take to listen on its port; default {@link LOCAL_START_TIMEOUT_MS}. */
  readonly startTimeoutMs?: number;
  readonly sandbox?: SandboxOptions & {
    /**
     * Node's permission model inside the sandbox, as a second layer. Default true; tests turn
     * it off to show the sandbox alone holds, as it must when a bug lets code out of it.
     */
    readonly nodePermissions?: boolean;
  };
  /** Run code a model wrote even when there is no sandbox (LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX). */
  readonly allowUnsandboxed?: boolean;
  /** Providers that can run an app this one refuses, named in the refusal. */
  readonly alternatives?: readonly string[];
  /** Called when one of its limits ended an app that was running; `reason` is for its card. */
  readonly onLimit?: (sessionId: string, reason: string) => void;
  /** Default {@link LOCAL_WATCH_INTERVAL_MS}. */
  readonly watchIntervalMs?: number;
}

export interface Settings {
  readonly appsDir: string;
  readonly limits: AppLimits;
  readonly previewHost: string;
  readonly previewPort: number;
  readonly previewListenHost: string;
  readonly startTimeoutMs: number;
  readonly watchIntervalMs: number;
}

/** The options checked, with their defaults. @throws SpawnError `ERR_CONFIG`. */
export function validate(options: LocalProviderOptions): Settings {
  const bad = (what: string) => new SpawnError('ERR_CONFIG', `local provider: ${what}`);
  if (!options.appsDir) throw bad('appsDir is required');
  const limits = { ...DEFAULT_APP_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw bad(`limits.${name} must be a positive integer`);
  }
  if (limits.memoryMb < 32) throw bad('limits.memoryMb must be at least 32');
  if (!/^[a-z0-9.-]+$/i.test(options.previewHost) || /^[\d.]+$/.test(options.previewHost)) {
    throw bad('previewHost must be a domain name (apps get <id>.<previewHost>), such as localhost');
  }
  if (!Number.isInteger(options.previewPort) || options.previewPort < 0 || options.previewPort > 65535) {
    throw bad('previewPort must be a port number, or 0 for any free port');
  }
  const startTimeoutMs = options.startTimeoutMs ?? LOCAL_START_TIMEOUT_MS;
  if (!(startTimeoutMs > 0)) throw bad('startTimeoutMs must be positive');
  return Object.freeze({
    appsDir: options.appsDir,
    limits: Object.freeze(limits),
    previewHost: options.previewHost.toLowerCase(),
    previewPort: options.previewPort,
    previewListenHost: options.previewListenHost ?? '127.0.0.1',
    startTimeoutMs,
    watchIntervalMs: options.watchIntervalMs ?? LOCAL_WATCH_INTERVAL_MS,
  });
}
