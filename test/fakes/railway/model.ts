import type { RunningDeployment } from './app-host.js';

/**
 * Values of Railway's `DeploymentStatus` enum (public GraphQL schema,
 * https://docs.railway.com/reference/public-api; the schema the Railway CLI builds against,
 * https://docs.rs/crate/railwayapp/latest/source/src/gql/schema.json) that this fake moves
 * through: a replaced or deleted deployment goes REMOVING, then REMOVED.
 */
export type FakeDeploymentStatus =
  | 'QUEUED'
  | 'DEPLOYING'
  | 'SUCCESS'
  | 'FAILED'
  | 'CRASHED'
  | 'REMOVING'
  | 'REMOVED';

export interface FakeRailwayService {
  readonly id: string;
  readonly name: string;
  readonly projectId: string;
  readonly image: string;
  /** `registryCredentials` given at creation (ServiceCreateInput). */
  readonly registryCredentials: { username: string; password: string } | undefined;
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
  /** An account or workspace token, accepted as `Authorization: Bearer`. */
  readonly token: string;
  /** A project token for `projectId` / `environmentId`, accepted as `Project-Access-Token` only. */
  readonly projectToken?: string;
  /** Images only pulled with these registry credentials (private images). */
  readonly privateImages?: Readonly<Record<string, { username: string; password: string }>>;
  readonly projectId: string;
  readonly environmentId: string;
  /** Requests per second before 429 (Railway Hobby: 10). */
  readonly perSecond?: number;
  /** Requests per hour before 429 (Railway Hobby: 1,000). */
  readonly perHour?: number;
}
