import { SpawnError } from '../errors.js';

/** Failed requests in a row after which a provider's circuit opens. */
export const CIRCUIT_FAILURE_THRESHOLD = 5;
/** How long an open circuit refuses requests before one trial request may go through. */
export const CIRCUIT_OPEN_MS = 30_000;

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Shown in errors: "Railway is unavailable ...". */
  readonly label: string;
  /** Default {@link CIRCUIT_FAILURE_THRESHOLD}. */
  readonly failureThreshold?: number;
  /** Default {@link CIRCUIT_OPEN_MS}. */
  readonly openMs?: number;
  readonly now?: () => number;
}

/**
 * One per provider and process. Counts requests that found the provider unreachable or
 * failing (network errors, timeouts, 5xx) in a row; past the threshold the circuit opens and
 * every request fails at once with `ERR_PROVIDER_UNAVAILABLE`, without touching the network,
 * until `openMs` has passed. Then one trial request goes through: success closes the circuit,
 * failure opens it again. Answers that prove the provider is up (2xx-4xx, 429 included) reset
 * the count.
 */
export class CircuitBreaker {
  readonly label: string;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly now: () => number;
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private lastReason = '';

  constructor(options: CircuitBreakerOptions) {
    this.label = options.label;
    this.threshold = options.failureThreshold ?? CIRCUIT_FAILURE_THRESHOLD;
    this.openMs = options.openMs ?? CIRCUIT_OPEN_MS;
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.openMs ? 'half-open' : 'open';
  }

  /** How long until a trial request is allowed (0 unless open). */
  retryAfterMs(): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(0, this.openedAt + this.openMs - this.now());
  }

  /** The error a request gets while the circuit is open. */
  openError(): SpawnError {
    const seconds = Math.max(1, Math.ceil(this.retryAfterMs() / 1000));
    return new SpawnError(
      'ERR_PROVIDER_UNAVAILABLE',
      `${this.label} is unavailable (${this.failures} failed requests in a row, last: ${this.lastReason}); ` +
        `not calling it for ${seconds} s`,
      {
        retryAfterMs: this.retryAfterMs(),
        userMessage: `${this.label} is unavailable right now; please try again in a few minutes.`,
      },
    );
  }

  /**
   * Called before each request.
   * @throws SpawnError `ERR_PROVIDER_UNAVAILABLE` while the circuit is open (or a trial is running).
   */
  check(): void {
    const state = this.state;
    if (state === 'closed') return;
    if (state === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return;
    }
    throw this.openError();
  }

  /** Whether a request would be refused right now (without claiming the trial). */
  isOpen(): boolean {
    const state = this.state;
    return state === 'open' || (state === 'half-open' && this.trialInFlight);
  }

  /** A request ended without telling anything about the provider (we cancelled it). */
  release(): void {
    this.trialInFlight = false;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  failure(reason: string): void {
    this.failures += 1;
    this.lastReason = reason;
    const wasTrial = this.trialInFlight;
    this.trialInFlight = false;
    if (wasTrial || this.failures >= this.threshold) this.openedAt = this.now();
  }
}
