import type { RunningDeployment } from '../railway/app-host.js';

/**
 * Deploy statuses of Render's OpenAPI `deployStatus` (the ones this fake moves through), from
 * https://api-docs.render.com/reference/list-deploys; a trigger while a deploy is in progress
 * answers 202 with no body (https://api-docs.render.com/reference/create-deploy).
 */
export type FakeDeployStatus =
  | 'created'
  | 'queued'
  | 'update_in_progress'
  | 'live'
  | 'deactivated'
  | 'build_failed'
  | 'update_failed'
  | 'canceled';

/** A deploy that has not finished: a new trigger waits behind it (202 Queued). */
export const IN_PROGRESS: ReadonlySet<FakeDeployStatus> = new Set([
  'created',
  'queued',
  'update_in_progress',
]);

export interface FakeRenderService {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly type: 'web_service';
  readonly imagePath: string;
  /** `image.registryCredentialId` given at creation. */
  readonly registryCredentialId: string | undefined;
  envVars: Record<string, string>;
  suspended: 'suspended' | 'not_suspended';
  readonly serviceDetails: {
    url: string;
    runtime: string;
    plan: string;
    region: string;
    healthCheckPath: string;
    numInstances: number;
  };
  readonly createdAt: string;
}

export interface FakeRenderDeploy {
  readonly id: string;
  readonly serviceId: string;
  status: FakeDeployStatus;
  /** The service's variables when the deploy started (a queued one takes them when it starts). */
  env: Record<string, string>;
  readonly createdAt: string;
  finishedAt: string | null;
  logs: string[];
  process: RunningDeployment | undefined;
}

export interface FakeRenderOptions {
  readonly apiKey: string;
  readonly ownerId: string;
  /** `POST /services` per hour (Render: 20). */
  readonly createsPerHour?: number;
  /** Deploys per minute per service (Render: 10). */
  readonly deploysPerMinute?: number;
  /** GETs per minute (Render: 400). */
  readonly readsPerMinute?: number;
  /** Other writes per minute (Render: 30). */
  readonly writesPerMinute?: number;
  /** Images only pulled through a registry credential with this login (private images). */
  readonly privateImages?: Readonly<Record<string, { username: string; authToken: string }>>;
}

/** A registry credential of the owner (`POST /registrycredentials`, https://api-docs.render.com/reference/create-registry-credential). */
export interface FakeRegistryCredential {
  readonly id: string;
  readonly ownerId: string;
  readonly name: string;
  readonly registry: 'GITHUB' | 'GITLAB' | 'DOCKER' | 'GOOGLE_ARTIFACT' | 'AWS_ECR';
  readonly username: string;
  readonly authToken: string;
}

/** A sliding window of requests, as Render counts its rate limits. */
export class Window {
  private readonly hits: number[] = [];
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}
  /** Counts a request when allowed; `resetSeconds` is when the window frees one. */
  hit(now = Date.now()): { allowed: boolean; remaining: number; resetSeconds: number } {
    while (this.hits.length > 0 && this.hits[0]! <= now - this.windowMs) this.hits.shift();
    const resetSeconds = Math.max(1, Math.ceil(((this.hits[0] ?? now) + this.windowMs - now) / 1000));
    if (this.hits.length >= this.limit) return { allowed: false, remaining: 0, resetSeconds };
    this.hits.push(now);
    return { allowed: true, remaining: this.limit - this.hits.length, resetSeconds };
  }
}
