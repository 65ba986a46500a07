/**
 * How long a provider's list of services is reused by `status` and `list`. The reaper asks
 * for the status of every live session each sweep: one listing per sweep instead of one per
 * session keeps SpawnAI far below the providers' hourly API limits.
 */
export const SERVICE_LIST_CACHE_MS = 5_000;

/** A value loaded at most once per `ttlMs`; concurrent callers share one load. */
export class Snapshot<T> {
  private value: { readonly at: number; readonly data: T } | undefined;
  private loading: Promise<T> | undefined;
  private generation = 0;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number = SERVICE_LIST_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    if (this.value && this.now() - this.value.at < this.ttlMs) return this.value.data;
    if (!this.loading) {
      const generation = this.generation;
      this.loading = this.load()
        .then((data) => {
          // A change made while loading makes this result stale already.
          if (generation === this.generation) this.value = { at: this.now(), data };
          return data;
        })
        .finally(() => {
          this.loading = undefined;
        });
    }
    return this.loading;
  }

  /** Forgets the value: the next `get` loads afresh (after our own changes). */
  invalidate(): void {
    this.generation += 1;
    this.value = undefined;
    this.loading = undefined;
  }
}
