import type { SpawnError } from '../../errors.js';

/** A deployment as the cloud reports it. */
export interface CloudDeployment {
  readonly id: string;
  /** The cloud's own word ("SUCCESS", "update_in_progress"), mapped by its {@link CloudStatusWords}. */
  readonly status: string;
}

/** A service as the cloud lists it. */
export interface CloudService {
  readonly id: string;
  readonly name: string;
  /** Its public URL, when the listing carries it. */
  readonly url?: string;
  /**
   * The cloud's word for the service's state in a listing: its latest deployment's status
   * (Railway) or a state of the service's own (Render: `not_suspended`, `suspended`). Unset:
   * it never had a deployment.
   */
  readonly status?: string;
  /** Its latest deployment, when the listing carries it (spares a request when adopting). */
  readonly latest?: CloudDeployment;
}

/**
 * How a cloud's status words map onto our states. A deployment is `live` (the deploy
 * succeeded), `failed` (it will never be live: failed, cancelled, being taken down) or, for
 * any other word, still on its way. A service runs unless its word is `failed` or `stopped`.
 */
export interface CloudStatusWords {
  readonly live: readonly string[];
  readonly failed: readonly string[];
  /** Service states (never deployment statuses) meaning it does not run: Render's `suspended`. */
  readonly stopped?: readonly string[];
}

/**
 * What one cloud must offer for {@link createCloudProvider} to run SpawnAI apps on it: services
 * made from the runtime image, named `spawn-<session>`, configured by environment variables
 * (BUNDLE_URL, BUNDLE_SHA256, PORT, NODE_ENV). Everything else (find or create by name, adopting
 * what a dead worker left, following a deployment until live, timeouts, locks, caching,
 * errors with log lines) is the template's. A method turns the cloud's errors into SpawnErrors
 * (`ProviderHttp` does for HTTP statuses): `ERR_PROVIDER_UNAVAILABLE` when the cloud failed
 * and a retry may work, `ERR_NOT_FOUND`, `ERR_CONFIG` for refused credentials,
 * `ERR_DEPLOY_FAILED` for a refusal; never a raw error, a token or a signed URL.
 *
 * A new cloud is one file implementing this (with its status words) plus a few lines that
 * build its `ProviderHttp` and call `createCloudProvider`, as `railway/index.ts` does.
 */
export interface CloudApi {
  /** How people know the cloud ("Railway"): messages and progress. */
  readonly label: string;
  /** The cloud's status words, mapped to our states by the template. */
  readonly statusWords: CloudStatusWords;
  /**
   * Every service whose name starts with `prefix`, all pages (others may come too: the
   * template filters). Feeds `status` and `list`, cached briefly: keep it to few requests.
   */
  listServices(prefix: string, signal?: AbortSignal): Promise<CloudService[]>;
  /** The services named exactly `name`: none, one, or more after an old bug. */
  servicesNamed(name: string, signal?: AbortSignal): Promise<CloudService[]>;
  /**
   * Creates the service from the runtime image with `variables` and starts its first
   * deployment, or lets the cloud start it. Returns that deployment's id when the answer
   * carries it; otherwise the template waits for the service's first deployment to show.
   *
   * @throws SpawnError `ERR_PROVIDER_UNAVAILABLE` when the creation may or may not have
   * happened (the template looks for it by name before trying again); `ERR_PROVIDER_QUOTA`
   * when the cloud's creation limit is reached.
   */
  createService(
    name: string,
    variables: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ readonly service: CloudService; readonly deploymentId?: string }>;
  /** The service's variables as they are now (an adopted service runs this bundle when its BUNDLE_SHA256 matches). */
  variables(serviceId: string, signal: AbortSignal): Promise<Record<string, string>>;
  /** Sets the service's variables without deploying: the next deployment uses them. */
  setVariables(serviceId: string, variables: Record<string, string>, signal: AbortSignal): Promise<void>;
  /** The service's newest deployment, whatever its status; undefined when it has none. */
  latestDeployment(serviceId: string, signal: AbortSignal): Promise<CloudDeployment | undefined>;
  /**
   * Starts a deployment with the service's current variables and returns its id; `queued`
   * when it waits behind one in progress. `previousId` is the newest deployment before the
   * call, for a cloud that answers "queued" without saying which one it queued.
   */
  startDeployment(
    serviceId: string,
    previousId: string | undefined,
    signal: AbortSignal,
  ): Promise<{ readonly id: string; readonly queued?: boolean }>;
  /** The deployment's current status word. */
  deploymentStatus(serviceId: string, deploymentId: string, signal: AbortSignal): Promise<string>;
  /** The last `limit` lines the deployment (or, if the cloud keeps one log, the service) wrote, oldest first. */
  logs(serviceId: string, deploymentId: string, limit: number, signal: AbortSignal): Promise<string[]>;
  /** The service's public http(s) URL, making its domain first when the cloud needs one made. */
  publicUrl(service: CloudService, signal: AbortSignal): Promise<string>;
  /** Deletes the service; one already gone counts as deleted. */
  deleteService(serviceId: string, signal?: AbortSignal): Promise<void>;
  /**
   * Why no service can be created now (a creation quota), without calling the cloud when it
   * can be known locally. Asked before a deploy; ignored for a session whose service exists.
   */
  creationRefusal?(): Promise<SpawnError | undefined>;
}
