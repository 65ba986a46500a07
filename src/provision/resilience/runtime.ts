import { SpawnError } from '../../errors.js';
import type { DeployRequest } from '../types.js';
import { scrubProviderText } from './http.js';

/** The port the runtime image's app listens on; the cloud service routes its domain to it. */
export const RUNTIME_PORT = 8080;
/** Log lines quoted when a cloud deployment fails. */
export const FAILURE_LOG_LINES = 8;

/**
 * The variables the runtime image (runtime/bootstrap.mjs) reads: where the bundle is, its
 * checksum, and the port. Nothing else: generated code never sees a secret of ours.
 */
export function runtimeVariables(request: DeployRequest): Record<string, string> {
  return {
    BUNDLE_URL: request.bundleUrl,
    BUNDLE_SHA256: request.bundle.sha256,
    PORT: String(RUNTIME_PORT),
    NODE_ENV: 'production',
  };
}

/**
 * A cloud provider downloads the bundle itself, so its URL must be http(s).
 * @throws SpawnError `ERR_CONFIG` for anything else (the local bundle store's `file://` URLs).
 */
export function assertDownloadableBundleUrl(label: string, url: string): void {
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // handled below
  }
  if (protocol !== 'https:' && protocol !== 'http:') {
    throw new SpawnError(
      'ERR_CONFIG',
      `${label} needs a bundle URL it can download (http or https), not ${protocol || 'an invalid URL'}; ` +
        'set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY so bundles are kept in Supabase Storage',
      { userMessage: `${label} is not set up correctly on this server (it cannot download apps).` },
    );
  }
}

/** Node's own stack frames, which crowd out what the app printed. */
const INTERNAL_FRAME = /^\s*at (?:.* \()?node:internal\//;

/**
 * Log lines fetched to tell why a cloud deployment failed: enough to still hold the runtime's
 * `start:` line under an app's long stack trace.
 */
export const FAILURE_LOG_FETCH_LINES = 50;

/** The end of the log a repair turn sees (more only repeats the stack). */
const REPAIR_LOG_LINES = FAILURE_LOG_LINES * 2;

const RUNTIME_LINE = /^\[spawnai-runtime\] /;
/** The runtime handed over to the app: from here a failure is the app's own. */
const APP_STARTED = /^\[spawnai-runtime\] start: /;
/** The app's dependencies did not install: its package.json is the app's too. */
const INSTALL_FAILED = /^\[spawnai-runtime\] error: install failed/;

/**
 * Whose failure a failed deployment is, from its log. `app`: the runtime started the app (or
 * installed its dependencies) and it failed: a repair turn can fix it. `platform`: the app never
 * ran (the image was not pulled, a quota, a platform error, the bundle could not be fetched):
 * sending that to Claude would only spend tokens.
 */
export function failureCause(
  logLines: readonly string[],
  fetched = FAILURE_LOG_FETCH_LINES,
): 'app' | 'platform' {
  if (logLines.some((l) => APP_STARTED.test(l) || INSTALL_FAILED.test(l))) return 'app';
  // Only the app's output, a full page of it: the runtime's own lines scrolled out of view.
  if (logLines.length >= fetched && !logLines.some((l) => RUNTIME_LINE.test(l))) return 'app';
  return 'platform';
}

/** The deployment failed at the provider: its status and the last lines of its log, safe to show. */
export function deployFailedError(label: string, status: string, logLines: readonly string[]): SpawnError {
  const scrubbed = logLines.map((l) => scrubProviderText(l)).filter((l) => l !== '');
  const lines = scrubbed.slice(-FAILURE_LOG_LINES);
  const tail = lines.length > 0 ? ` Last lines of its log:\n${lines.join('\n')}` : '';
  if (failureCause(logLines) === 'platform') {
    return new SpawnError(
      'ERR_DEPLOY_FAILED',
      `${label} reported the deployment ${status} before the app ran: the cloud failed, not the app.${tail}`,
    );
  }
  const message =
    lines.length > 0
      ? `${label} reported the deployment ${status}. Last lines of its log:\n${lines.join('\n')}`
      : `${label} reported the deployment ${status}.`;
  // The runtime image ran the app and it failed to start: its log (all the lines fetched, less
  // Node's internals) can go to a repair turn.
  return new SpawnError('ERR_DEPLOY_FAILED', message, {
    startup: {
      check: `${label} reported the deployment ${status}`,
      logTail: scrubbed.slice(-REPAIR_LOG_LINES).filter((l) => !INTERNAL_FRAME.test(l)),
    },
  });
}
