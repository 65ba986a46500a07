import type { RunningDeployment } from './app-host.js';

/** Railway's documented deployment statuses (the ones this fake moves through). */
export type FakeDeploymentStatus = 'QUEUED' | 'DEPLOYING' | 'SUCCESS' | 'FAILED' | 'CRASHED' | 'REMOVED';

export interface FakeRailwayService {
  readonly id: string;
  readonly name: string;
  readonly projectId: string;
  readonly image: string;
  variables: Record<string, string>;
  domain: { id: string; domain: string } | undefined;
  readonly deploymentIds: string[];
}

export interface FakeRailwayDeployment {
  readonly id: string;
  readonly serviceId: string;
  status: FakeDeploymentStatus;
  /** The variables the deployment started with. */
  readonly variables: Record<string, string>;
  logs: string[];
  process: RunningDeployment | undefined;
}

export interface FakeRailwayOptions {
  readonly token: string;
  readonly projectId: string;
  readonly environmentId: string;
  /** Requests per second before 429 (Railway Hobby: 10). */
  readonly perSecond?: number;
  /** Requests per hour before 429 (Railway Hobby: 1,000). */
  readonly perHour?: number;
}
