import type { Logger } from '../log.js';
import type { Queues } from '../queue/producer.js';
import type { ProgressEvent } from './progress.js';
import type { StatusStore } from './status-store.js';

/**
 * The one way anything reports progress: the event becomes the session's latest state and a
 * coalescing notify job brings the status message up to date at the platform's pace.
 */
export class Notifier {
  constructor(
    private readonly store: StatusStore,
    private readonly queues: Queues,
    private readonly logger: Logger,
  ) {}

  async publish(event: ProgressEvent, correlationId?: string): Promise<void> {
    const version = await this.store.put(event);
    if (version < 0) {
      this.logger.debug({ sessionId: event.sessionId, stage: event.stage }, 'stale progress event dropped');
      return;
    }
    await this.queues.enqueueNotify({ kind: 'status', sessionId: event.sessionId, correlationId });
    if (event.final) await this.queues.promoteNotify(event.sessionId);
  }
}
