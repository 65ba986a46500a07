import type { Config } from '../config/index.js';
import { railwayAuthHeaders } from '../provision/railway/api.js';
import type { CheckResult } from './types.js';

const TIMEOUT_MS = 5000;

async function getJson(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: unknown } | { error: string }> {
  try {
    const res = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  } catch (e) {
    return { error: `${new URL(url).host}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Whether each cloud can pull RUNTIME_IMAGE: it must be public unless registry credentials are set. */
function imageNote(config: Config, cloud: 'railway' | 'render'): string {
  const credentials =
    cloud === 'railway'
      ? config.RUNTIME_IMAGE_REGISTRY_USERNAME !== undefined
      : config.RENDER_REGISTRY_CREDENTIAL_ID !== undefined;
  if (!credentials) return `${config.RUNTIME_IMAGE} must be public (no registry credentials set)`;
  return cloud === 'railway'
    ? `${config.RUNTIME_IMAGE} is pulled with RUNTIME_IMAGE_REGISTRY_USERNAME (registry credentials need Railway's Pro plan)`
    : `${config.RUNTIME_IMAGE} is pulled with registry credential ${config.RENDER_REGISTRY_CREDENTIAL_ID}`;
}

/**
 * Railway: the token as its type is sent (RAILWAY_TOKEN_TYPE), reaching the configured
 * environment. A project token is asked which project and environment it belongs to.
 */
export async function probeRailway(config: Config, fetchImpl: typeof fetch): Promise<CheckResult> {
  const type = config.RAILWAY_TOKEN_TYPE;
  const project = type === 'project';
  const res = await getJson(fetchImpl, config.RAILWAY_API_URL, {
    method: 'POST',
    headers: {
      ...railwayAuthHeaders(config.RAILWAY_API_TOKEN ?? '', type),
      'content-type': 'application/json',
    },
    body: JSON.stringify(
      project
        ? { query: 'query doctor { projectToken { projectId environmentId } }' }
        : {
            query:
              'query doctor($environmentId: String!, $projectId: String!) { environment(id: $environmentId, projectId: $projectId) { id } }',
            variables: { environmentId: config.RAILWAY_ENVIRONMENT_ID, projectId: config.RAILWAY_PROJECT_ID },
          },
    ),
  });
  if ('error' in res) return { name: 'railway', state: 'unreachable', detail: res.error };
  const host = new URL(config.RAILWAY_API_URL).host;
  if (res.status !== 200)
    return { name: 'railway', state: 'unreachable', detail: `${host} answered HTTP ${res.status}` };
  const body = res.body as
    | {
        errors?: { message?: string }[];
        data?: { projectToken?: { projectId: string; environmentId: string } | null };
      }
    | undefined;
  if (body?.errors?.length) {
    const message = body.errors.map((e) => e.message ?? 'error').join('; ');
    const unauthorized = /not authori[sz]ed|unauthori[sz]ed/i.test(message);
    return {
      name: 'railway',
      state: unauthorized ? 'rejected' : 'incomplete',
      detail: unauthorized
        ? `${type} token rejected by ${host} (${message})${project ? '' : '; for a project token set RAILWAY_TOKEN_TYPE=project'}`
        : `${host}: ${message} (check RAILWAY_PROJECT_ID and RAILWAY_ENVIRONMENT_ID)`,
    };
  }
  if (project) {
    const scope = body?.data?.projectToken;
    if (
      scope?.projectId !== config.RAILWAY_PROJECT_ID ||
      scope?.environmentId !== config.RAILWAY_ENVIRONMENT_ID
    ) {
      return {
        name: 'railway',
        state: 'incomplete',
        detail: `the project token belongs to project ${scope?.projectId ?? '?'}, environment ${scope?.environmentId ?? '?'}: set RAILWAY_PROJECT_ID and RAILWAY_ENVIRONMENT_ID to them`,
      };
    }
  }
  return {
    name: 'railway',
    state: 'ok',
    detail: `${type} token accepted by ${host}, environment found; ${imageNote(config, 'railway')}`,
  };
}

/** Render: the key reads the owner; a configured registry credential exists. */
export async function probeRender(config: Config, fetchImpl: typeof fetch): Promise<CheckResult> {
  const headers = { authorization: `Bearer ${config.RENDER_API_KEY}` };
  const base = config.RENDER_API_URL.replace(/\/+$/, '');
  const host = new URL(base).host;
  const owner = await getJson(
    fetchImpl,
    `${base}/owners/${encodeURIComponent(config.RENDER_OWNER_ID ?? '')}`,
    {
      headers,
    },
  );
  if ('error' in owner) return { name: 'render', state: 'unreachable', detail: owner.error };
  if (owner.status === 401 || owner.status === 403)
    return {
      name: 'render',
      state: 'rejected',
      detail: `credentials rejected by ${host} (HTTP ${owner.status})`,
    };
  if (owner.status === 404)
    return {
      name: 'render',
      state: 'incomplete',
      detail: `RENDER_OWNER_ID names no workspace this key can see`,
    };
  if (owner.status !== 200)
    return { name: 'render', state: 'unreachable', detail: `${host} answered HTTP ${owner.status}` };
  if (config.RENDER_REGISTRY_CREDENTIAL_ID) {
    const credential = await getJson(
      fetchImpl,
      `${base}/registrycredentials/${encodeURIComponent(config.RENDER_REGISTRY_CREDENTIAL_ID)}`,
      { headers },
    );
    if ('error' in credential) return { name: 'render', state: 'unreachable', detail: credential.error };
    if (credential.status !== 200) {
      return {
        name: 'render',
        state: 'incomplete',
        detail: `RENDER_REGISTRY_CREDENTIAL_ID names no registry credential this key can see (HTTP ${credential.status})`,
      };
    }
  }
  return {
    name: 'render',
    state: 'ok',
    detail: `credentials accepted by ${host}; ${imageNote(config, 'render')}`,
  };
}
