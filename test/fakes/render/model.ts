import type { RunningDeployment } from '../railway/app-host.js';

export type FakeDeployStatus =
  | 'created'
  | 'update_in_progress'
  | 'live'
  | 'deactivated'
  | 'update_failed'
  | 'canceled';

export interface FakeRenderService {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly type: 'web_service';
  readonly imagePath: string;
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
  readonly env: Record<string, string>;
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
