import type { Platform } from '../core/platform.js';
import { describeError, isSpawnError, StartupError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep } from '../util/time.js';
import type { Connection } from './connection.js';

/**
 * `connecting`: the first attempt is under way; `connected`; `degraded`: not connected now and
 * being retried (or reconnecting by itself); `failed`: refused for a reason retrying cannot fix
 * (a rejected token), until the configuration changes and the process restarts.
 */
export type LinkState = 'connecting' | 'connected' | 'degraded' | 'failed';

/** What one platform connection is doing, for `/ready`, `doctor` and the logs. */
export interface LinkStatus {
  readonly platform: Platform;
  readonly state: LinkState;
  /** When the state last changed (ISO 8601). */
  readonly since: string;
  /** Failed attempts in a row (0 once connected). */
  readonly failures: number;
  /** Why it is not connected (never a secret: SDK messages go through describeError). */
  readonly error?: string;
  /** The waits before the latest retries, oldest first (the last few only). */
  readonly retryDelaysMs: readonly number[];
  /** When the next attempt starts (ISO 8601), while one is scheduled. */
  readonly nextAttemptAt?: string;
}

/** One long-lived platform connection the supervisor keeps up. */
export interface LinkSpec {
  readonly platform: Platform;
  /** One attempt; `signal` aborts when the attempt timed out or the supervisor stops. */
  connect(signal: AbortSignal): Promise<Connection>;
}

export interface SupervisorOptions {
  /** First wait after a failed attempt; doubled per failure in a row. */
  readonly minDelayMs: number;
  /** The waits stop growing here. */
  readonly maxDelayMs: number;
  /** One attempt that has not connected by then counts as failed (and is torn down). */
  readonly attemptTimeoutMs: number;
  readonly logger: Logger;
  /** Called on every change of a link's status (e.g. to publish it for `doctor`). */
  readonly onChange?: (status: LinkStatus) => void;
  /** 0 ≤ r < 1; tests may fix it. */
  readonly random?: () => number;
}

/** How many of the latest retry waits a status keeps. */
const KEPT_DELAYS = 8;
/** Jitter takes up to this share off each wait, so processes restarted together spread out. */
const JITTER_SHARE = 0.2;

/**
 * The wait before retry number `failures` (1-based): `min · 2^(failures-1)`, capped at `max`,
 * less up to 20 % jitter. Until the cap each wait is longer than the one before whatever the
 * jitter (the smallest next one is 1.6× the largest previous one).
 */
export function retryDelayMs(failures: number, minMs: number, maxMs: number, random: () => number): number {
  const grown = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
  return Math.max(1, Math.round(grown * (1 - JITTER_SHARE * random())));
}

/** Errors that retrying cannot fix: a rejected token or a refused intent, named for the operator. */
export function isFatalConnectError(e: unknown): boolean {
  if (e instanceof StartupError) return true;
  return isSpawnError(e) && (e.kind === 'auth' || e.kind === 'permission');
}

function message(e: unknown): string {
  return e instanceof StartupError ? e.message : describeError(e);
}

class Link {
  state: LinkState = 'connecting';
  since = new Date();
  failures = 0;
  error: string | undefined;
  fatal: unknown;
  readonly delays: number[] = [];
  nextAttemptAt: Date | undefined;
  connection: Connection | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Aborts the attempt in progress (when it times out, or the supervisor stops). */
  attempt: AbortController | undefined;
  /** Settles after the first attempt, whatever its outcome. */
  readonly firstAttempt: Promise<void>;
  settleFirst!: () => void;

  constructor(readonly spec: LinkSpec) {
    this.firstAttempt = new Promise((resolve) => {
      this.settleFirst = resolve;
    });
  }

  status(): LinkStatus {
    // A connection that reconnects by itself (Discord resuming, Socket Mode) says so.
    const live = this.state === 'connected' ? this.connection?.health?.() : undefined;
    const degraded = live !== undefined && live !== 'ok';
    return {
      platform: this.spec.platform,
      state: degraded ? 'degraded' : this.state,
      since: this.since.toISOString(),
      failures: this.failures,
      ...(degraded ? { error: live } : this.error ? { error: this.error } : {}),
      retryDelaysMs: [...this.delays],
      ...(this.nextAttemptAt ? { nextAttemptAt: this.nextAttemptAt.toISOString() } : {}),
    };
  }
}

/**
 * Keeps the bot role's platform connections up, each on its own: a platform that cannot
 * connect is retried with growing, capped, jittered waits and shows as degraded, while the
 * others (and the web chat, webhooks and workers of the same process) keep running. A
 * connection that is lost for good later (`Connection.lost`) is reconnected the same way.
 */
export class ConnectionSupervisor {
  private readonly links: Link[];
  private stopped = false;
  private readonly random: () => number;

  constructor(
    specs: readonly LinkSpec[],
    private readonly options: SupervisorOptions,
  ) {
    this.links = specs.map((spec) => new Link(spec));
    this.random = options.random ?? Math.random;
  }

  /** Starts every connection's first attempt; returns at once. */
  start(): void {
    for (const link of this.links) void this.attempt(link);
  }

  /**
   * Resolves once every connection had its first attempt (connected, failed or timed out), or
   * after `timeoutMs`: callers may start serving before a slow platform is up.
   */
  async firstAttempts(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.links.map((l) => l.firstAttempt)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** The refusals retrying cannot fix, by platform. */
  fatalErrors(): { platform: Platform; error: unknown }[] {
    return this.links
      .filter((l) => l.state === 'failed')
      .map((l) => ({ platform: l.spec.platform, error: l.fatal }));
  }

  statuses(): LinkStatus[] {
    return this.links.map((l) => l.status());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const link of this.links) {
      clearTimeout(link.timer);
      link.timer = undefined;
      link.attempt?.abort(new Error('stopping'));
    }
    await Promise.all(
      this.links.map(async (link) => {
        const c = link.connection;
        link.connection = undefined;
        await c?.stop().catch(() => {});
      }),
    );
  }

  private change(link: Link, state: LinkState, error?: string): void {
    if (link.state !== state) link.since = new Date();
    link.state = state;
    link.error = error;
    this.options.onChange?.(link.status());
  }

  private async attempt(link: Link): Promise<void> {
    if (this.stopped) return;
    link.nextAttemptAt = undefined;
    const { platform } = link.spec;
    const log = this.options.logger.child({ platform });
    let connection: Connection;
    try {
      connection = await this.withTimeout(link, (signal) => link.spec.connect(signal));
    } catch (e) {
      link.failures += 1;
      if (isFatalConnectError(e)) {
        link.fatal = e;
        this.change(link, 'failed', message(e));
        log.error(
          { err: message(e) },
          `${platform}: cannot connect, and retrying will not help; everything else keeps running`,
        );
      } else {
        this.schedule(link, message(e), log);
      }
      link.settleFirst();
      return;
    }
    if (this.stopped) {
      await connection.stop().catch(() => {});
      return;
    }
    link.connection = connection;
    link.failures = 0;
    link.delays.length = 0;
    this.change(link, 'connected');
    log.info(`${platform}: connected`);
    link.settleFirst();
    connection.lost?.then(
      (reason) => this.onLost(link, connection, reason),
      (reason: unknown) => this.onLost(link, connection, reason),
    );
  }

  private onLost(link: Link, connection: Connection, reason: unknown): void {
    if (this.stopped || link.connection !== connection) return;
    link.connection = undefined;
    void connection.stop().catch(() => {});
    link.failures += 1;
    const why = message(reason);
    if (isFatalConnectError(reason)) {
      link.fatal = reason;
      this.change(link, 'failed', why);
      this.options.logger.error(
        { platform: link.spec.platform, err: why },
        `${link.spec.platform}: connection lost for good`,
      );
      return;
    }
    this.schedule(
      link,
      `connection lost: ${why}`,
      this.options.logger.child({ platform: link.spec.platform }),
    );
  }

  private schedule(link: Link, error: string, log: Logger): void {
    if (this.stopped) return;
    const delayMs = retryDelayMs(
      link.failures,
      this.options.minDelayMs,
      this.options.maxDelayMs,
      this.random,
    );
    link.delays.push(delayMs);
    if (link.delays.length > KEPT_DELAYS) link.delays.shift();
    link.nextAttemptAt = new Date(Date.now() + delayMs);
    this.change(link, 'degraded', error);
    log.warn(
      { err: error, failures: link.failures, retryInMs: delayMs },
      `${link.spec.platform}: cannot connect; retrying in ${delayMs} ms (everything else keeps running)`,
    );
    link.timer = setTimeout(() => {
      link.timer = undefined;
      void this.attempt(link);
    }, delayMs);
  }

  /**
   * An attempt that has not connected in time is failed and aborted: a connector that still
   * reached the platform later would overlap the next attempt (two logins, or a refusal the
   * retry waits did not space). One that connects all the same is stopped. The failure is
   * reported once the aborted connector has wound down (its socket closed), or after as long
   * again: on a loaded machine a close handshake outlasted the retry wait, and the next
   * attempts opened beside the old ones (three sockets at once on a gateway that never answered).
   */
  private withTimeout(
    link: Link,
    connect: (signal: AbortSignal) => Promise<Connection>,
  ): Promise<Connection> {
    const ms = this.options.attemptTimeoutMs;
    const abort = new AbortController();
    link.attempt = abort;
    let late = false;
    const attempt = connect(abort.signal);
    const wound = attempt
      .then(
        async (c) => {
          if (late) await c.stop().catch(() => {});
        },
        () => {},
      )
      .finally(() => {
        if (link.attempt === abort) link.attempt = undefined;
      });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        late = true;
        const error = new Error(`not connected after ${ms} ms`);
        abort.abort(error);
        void Promise.race([wound, sleep(ms)]).then(() => reject(error));
      }, ms);
      attempt.then(
        (c) => {
          clearTimeout(timer);
          if (!late) resolve(c);
        },
        (e: unknown) => {
          clearTimeout(timer);
          if (!late) reject(e);
        },
      );
    });
  }
}
