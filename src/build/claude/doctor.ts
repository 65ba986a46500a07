import { APIConnectionError, APIError, AuthenticationError, PermissionDeniedError } from '@anthropic-ai/sdk';
import type { Config } from '../../config/index.js';
import { silentLogger } from '../../log.js';
import { createAnthropicClient } from './client.js';

/** How long the doctor waits for the API. */
const DOCTOR_TIMEOUT_MS = 5000;

export interface ClaudeProbeResult {
  readonly state: 'ok' | 'rejected' | 'unreachable';
  /** Never contains the key. */
  readonly detail: string;
}

/**
 * One cheap call (list one model) through the official SDK, the way builds reach the API,
 * telling a working key from a rejected one and from an unreachable service.
 */
export async function probeClaude(
  config: Config,
  fetchImpl: typeof fetch = fetch,
): Promise<ClaudeProbeResult> {
  const host = new URL(config.ANTHROPIC_BASE_URL).host;
  const client = createAnthropicClient({
    apiKey: config.ANTHROPIC_API_KEY ?? '',
    baseURL: config.ANTHROPIC_BASE_URL,
    timeoutMs: DOCTOR_TIMEOUT_MS,
    maxRetries: 0,
    logger: silentLogger(),
    fetch: fetchImpl,
  });
  try {
    const page = await client.models.list({ limit: 1 });
    const first = page.data[0]?.id;
    return {
      state: 'ok',
      detail: `key works (${host}${first ? `, e.g. model ${first}` : ''}; builds use ${config.ANTHROPIC_MODEL})`,
    };
  } catch (e) {
    if (e instanceof AuthenticationError || e instanceof PermissionDeniedError) {
      return { state: 'rejected', detail: `key rejected by ${host} (HTTP ${e.status})` };
    }
    if (e instanceof APIError && !(e instanceof APIConnectionError) && e.status !== undefined) {
      return { state: 'unreachable', detail: `${host} answered HTTP ${e.status}` };
    }
    return { state: 'unreachable', detail: `${host}: ${e instanceof Error ? e.message : String(e)}` };
  }
}
