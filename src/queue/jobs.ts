import { createHash } from 'node:crypto';
import type { AttachmentRef } from '../core/attachments.js';
import type { InboundJobData } from '../core/inbound-handler.js';
import type { ConversationRef } from '../core/platform.js';
import type { ReplyView } from '../core/view.js';

/** The queues SpawnAI runs on. Names are part of the Redis keyspace: change them with a migration. */
export const QUEUE_NAMES = { inbound: 'inbound', spawn: 'spawn', notify: 'notify', reap: 'reap' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

export type { InboundJobData, InboundSource } from '../core/inbound-handler.js';

/** Build (and deploy) one iteration of a session's app. */
export interface SpawnJobData {
  readonly buildId: string;
  readonly sessionId: string;
  /** The platform event id the request came from; appears on every log line of the job. */
  readonly correlationId: string;
  /** W3C trace context of the request, so the job's spans join its trace (OpenTelemetry). */
  readonly trace?: Record<string, string> | undefined;
  /**
   * Pictures attached to the request: where they are, never their bytes. The worker fetches
   * them when the build starts. A build re-queued after its job was lost has none (they live
   * only here, by design: nothing of them is kept in the database).
   */
  readonly attachments?: readonly AttachmentRef[] | undefined;
}

/**
 * `status`: bring a session's status message up to date with its latest state (coalesced).
 * `post`: post one new message (a final result, a payment confirmation); the job id makes it once.
 */
export type NotifyJobData =
  | {
      readonly kind: 'status';
      readonly sessionId: string;
      readonly correlationId?: string | undefined;
      /** Until when the platform itself told us to wait (epoch ms): no promotion before then. */
      readonly holdUntil?: number | undefined;
    }
  | {
      readonly kind: 'post';
      readonly sessionId?: string | undefined;
      readonly conversation: ConversationRef;
      readonly view: ReplyView;
      readonly correlationId?: string | undefined;
    };

/**
 * `sweep`: destroy expired sessions, reconcile providers with the database, recover lost jobs
 * (also as soon as a limit ended a local app: `app-stopped`, and as soon as Redis is found to
 * have lost its data: `redis-reset`).
 * `destroy`: remove one ended session's app and bundles.
 */
export type ReapJobData =
  | {
      readonly kind: 'sweep';
      readonly reason: 'schedule' | 'manual' | 'startup' | 'app-stopped' | 'redis-reset';
    }
  | { readonly kind: 'destroy'; readonly sessionId: string; readonly reason: string };

export interface JobDataByQueue {
  inbound: InboundJobData;
  spawn: SpawnJobData;
  notify: NotifyJobData;
  reap: ReapJobData;
}

/**
 * BullMQ job ids may not contain ':' nor look like integers; a hash of the platform's
 * idempotency key is neither, and the same key always gives the same id.
 */
export function jobIdFor(kind: string, idempotencyKey: string): string {
  return `${kind}-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}
