/** A long-lived platform connection run by the `bot` process. */
export interface Connection {
  stop(): Promise<void>;
  /**
   * Settles when the connection is gone for good and will not come back by itself (the
   * process's supervisor then reconnects with growing waits). Absent: it never gives up.
   */
  readonly lost?: Promise<unknown>;
  /** `'ok'`, or why it is not receiving right now (e.g. reconnecting by itself). */
  health?(): string;
}
