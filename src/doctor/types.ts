/** `degraded`: configured and retried by the running service, but not working right now. */
export type CheckState = 'ok' | 'off' | 'incomplete' | 'unreachable' | 'rejected' | 'degraded';

export interface CheckResult {
  readonly name: string;
  readonly state: CheckState;
  /** Never contains a secret. */
  readonly detail: string;
}
