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

/** The deployment failed at the provider: its status and the last lines of its log, safe to show. */
export function deployFailedError(label: string, status: string, logLines: readonly string[]): SpawnError {
  const lines = logLines
    .map((l) => scrubProviderText(l))
    .filter((l) => l !== '')
    .slice(-FAILURE_LOG_LINES);
  const message =
    lines.length > 0
      ? `${label} reported the deployment ${status}. Last lines of its log:\n${lines.join('\n')}`
      : `${label} reported the deployment ${status}.`;
  return new SpawnError('ERR_DEPLOY_FAILED', message);
}
