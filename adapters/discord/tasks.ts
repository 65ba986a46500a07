import type { Logger } from '../../src/log.js';

/**
 * Work that continues after Discord got its answer (interaction follow-ups, gateway messages).
 * Tracked so shutdown can wait for it instead of cutting a reply off halfway.
 */
export class TaskSet {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(what: string, fn: () => Promise<void>): void {
    const task = fn()
      .catch((e: unknown) => {
        this.logger.error({ what, err: e instanceof Error ? e.message : String(e) }, 'discord task failed');
      })
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  get size(): number {
    return this.running.size;
  }

  /** Waits for running work, at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
