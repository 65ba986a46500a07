import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
} from '@anthropic-ai/sdk';
import type { Config } from '../../config/index.js';
import { silentLogger } from '../../log.js';
import { createAnthropicClient } from './client.js';
import { knownModel } from './models.js';
import { requestShape } from './request-shape.js';
import { TOOLS } from './tools.js';

/** How long the doctor waits for the API. */
const DOCTOR_TIMEOUT_MS = 15_000;
/** The probe request's output cap: enough to start an answer, a fraction of a cent. */
const PROBE_MAX_TOKENS = 64;

export interface ClaudeProbeResult {
  readonly state: 'ok' | 'rejected' | 'unreachable';
  /** Never contains the key. */
  readonly detail: string;
}

/**
 * Three questions, through the official SDK as builds ask them: does the key work, does the
 * configured model exist (`GET /v1/models/{id}`), and is one tiny request in the builder's
 * real shape (its tools, its tool choice, its thinking and effort) accepted? The last one is
 * a billed request of a few dozen tokens; it is what catches a shape the model refuses.
 */
export async function probeClaude(
  config: Config,
  fetchImpl: typeof fetch = fetch,
): Promise<ClaudeProbeResult> {
  const host = new URL(config.ANTHROPIC_BASE_URL).host;
  const model = config.ANTHROPIC_MODEL;
  const client = createAnthropicClient({
    apiKey: config.ANTHROPIC_API_KEY ?? '',
    baseURL: config.ANTHROPIC_BASE_URL,
    timeoutMs: DOCTOR_TIMEOUT_MS,
    maxRetries: 0,
    logger: silentLogger(),
    fetch: fetchImpl,
  });
  let step = 'the model';
  try {
    await client.models.retrieve(model);
    step = 'a request in the builder’s shape';
    await client.messages.create({
      model,
      max_tokens: PROBE_MAX_TOKENS,
      tools: [...TOOLS],
      ...requestShape(model, config.ANTHROPIC_EFFORT),
      messages: [{ role: 'user', content: 'This is a connection check. Reply with the word ok.' }],
    });
    const table = knownModel(model) ? '' : '; not in the price table, priced by ANTHROPIC_PRICE_*';
    return {
      state: 'ok',
      detail: `key works, model ${model} exists and accepts the builder's requests (${host}${table})`,
    };
  } catch (e) {
    if (e instanceof AuthenticationError || e instanceof PermissionDeniedError) {
      return { state: 'rejected', detail: `key rejected by ${host} (HTTP ${e.status})` };
    }
    if (e instanceof NotFoundError) {
      return { state: 'rejected', detail: `model ${model} does not exist at ${host}; set ANTHROPIC_MODEL` };
    }
    if (e instanceof BadRequestError) {
      const why = (e.apiMessage ?? e.message).slice(0, 200);
      return { state: 'rejected', detail: `${host} refused ${step} for ${model}: ${why}` };
    }
    if (e instanceof APIError && !(e instanceof APIConnectionError) && e.status !== undefined) {
      return { state: 'unreachable', detail: `${host} answered HTTP ${e.status}` };
    }
    return { state: 'unreachable', detail: `${host}: ${e instanceof Error ? e.message : String(e)}` };
  }
}
