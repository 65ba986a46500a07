import type { FakeRegistryCredential, FakeRenderDeploy } from './model.js';

/** A refusal as Render answers it: a status and `{id, message}`. */
export interface RenderRefusal {
  readonly status: number;
  readonly body: { id: string; message: string };
}

export interface ServiceSpec {
  name: string;
  imagePath: string;
  registryCredentialId: string | undefined;
  envVars: Record<string, string>;
  healthCheckPath: string;
}

/**
 * Reads a `POST /services` body the way Render validates an image-backed web service
 * (https://api-docs.render.com/reference/create-service): type, name and owner are required, the
 * owner must be ours, `image.imagePath` with `runtime: image`, and a `registryCredentialId` must
 * name a registry credential of that owner.
 */
export function readServiceCreate(
  body: unknown,
  ownerId: string,
  credentials: ReadonlyMap<string, FakeRegistryCredential>,
): ServiceSpec | RenderRefusal {
  const b = (body ?? {}) as {
    type?: unknown;
    name?: unknown;
    ownerId?: unknown;
    image?: { imagePath?: unknown; ownerId?: unknown; registryCredentialId?: unknown };
    envVars?: { key?: unknown; value?: unknown }[];
    serviceDetails?: { runtime?: unknown; healthCheckPath?: unknown };
  };
  const bad = (message: string): RenderRefusal => ({ status: 400, body: { id: 'bad-request', message } });
  if (b.type !== 'web_service' || typeof b.name !== 'string' || typeof b.ownerId !== 'string') {
    return bad('type, name and ownerId are required');
  }
  if (b.ownerId !== ownerId) return { status: 404, body: { id: 'not-found', message: 'owner not found' } };
  if (typeof b.image?.imagePath !== 'string' || b.serviceDetails?.runtime !== 'image') {
    return bad('an image service needs image.imagePath and runtime image');
  }
  const credentialId = b.image.registryCredentialId;
  if (
    credentialId !== undefined &&
    (typeof credentialId !== 'string' || credentials.get(credentialId)?.ownerId !== b.ownerId)
  ) {
    return bad('registry credential not found');
  }
  const envVars: Record<string, string> = {};
  for (const e of b.envVars ?? [])
    if (typeof e.key === 'string' && typeof e.value === 'string') envVars[e.key] = e.value;
  return {
    name: b.name,
    imagePath: b.image.imagePath,
    registryCredentialId: credentialId,
    envVars,
    healthCheckPath:
      typeof b.serviceDetails.healthCheckPath === 'string' ? b.serviceDetails.healthCheckPath : '',
  };
}

/** `GET /logs?resource=<service>&limit=`: the newest lines first, as Render lists them. */
export function logsView(deploys: readonly FakeRenderDeploy[], resource: string | null, limit: number) {
  const lines = deploys.flatMap((d) => (d.process ? d.process.logs : d.logs).map((message) => ({ message })));
  const picked = lines.slice(-limit).reverse();
  // One clock reading for the page: read per line, a pause of k ms mid-page gave an older line
  // a later time than newer ones, and clients order lines by time.
  const now = Date.now();
  return {
    hasMore: lines.length > limit,
    logs: picked.map((l, i) => ({
      id: `log-${i}`,
      timestamp: new Date(now - i).toISOString(),
      message: l.message,
      labels: [{ name: 'resource', value: resource }],
    })),
  };
}
