import type { Logger } from '../log.js';
import { createRedis, type Redis } from './connection.js';

export type Listener = (message: string) => void;

/**
 * One subscriber connection per process, fanned out to any number of in-process listeners
 * (e.g. one per open SSE stream). Publishing uses a normal client connection.
 */
export class PubSub {
  private subscriberConnection: Redis | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly redisUrl: string,
    private readonly publisher: Redis,
    private readonly logger: Logger,
  ) {}

  /** Opened on first subscribe: processes that only publish (workers) never hold one. */
  private get subscriber(): Redis {
    if (!this.subscriberConnection) {
      this.subscriberConnection = createRedis(this.redisUrl, 'subscriber', this.logger);
      this.subscriberConnection.on('message', (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) listener(message);
      });
    }
    return this.subscriberConnection;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(channel, message);
  }

  /** Resolves once the subscription is active; the returned function ends it. */
  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const s = this.subscriberConnection;
    this.subscriberConnection = undefined;
    if (s) await s.quit().catch(() => s.disconnect());
  }
}
