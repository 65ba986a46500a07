import { Job, Queue, QueueEvents } from 'bullmq';
import { SpawnError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Redis } from '../redis/connection.js';
import { injectTrace } from '../tracing.js';
import { withTimeout } from '../util/time.js';
import { type InboundJobData, type InboundSource, jobIdFor, QUEUE_NAMES } from './jobs.js';

export interface InboundSettings {
  readonly prefix: string;
  /** Attempts per message (database or platform briefly unavailable). */
  readonly attempts: number;
  /** How long a handled message's job is kept: a redelivery within it is the same job. */
  readonly keepCompletedS: number;
  /** Waiting messages beyond which people are told it will take a while. */
  readonly busyDepth: number;
  /** Requests of this process between "received" and "answered" beyond which new ones get 503. */
  readonly maxInFlight: number;
}

/** How often a web process looks at the queue's depth (one Redis call, not one per request). */
export const INBOUND_DEPTH_POLL_MS = 500;
/** An enqueue that takes longer than this is answered 503, so the platform delivers it again. */
export const INBOUND_ENQUEUE_TIMEOUT_MS = 2_000;
/** What a 503 for too many requests in flight asks the platform to wait. */
export const INBOUND_RETRY_AFTER_MS = 1_000;
/**
 * Beyond the bound, this share of it more may still be read and verified, only to be answered
 * "too busy, send it again" by platforms that never deliver a refused request again (a Slack
 * slash command, a Discord interaction): a bare 503 shows their person an error and no reason.
 */
export const INBOUND_OVERFLOW_SHARE = 0.25;

/**
 * How a request was let in: `taken` to be queued as usual, `told` over the bound, to be
 * verified and answered "too busy" without queueing anything.
 */
export type Admission = 'taken' | 'told';
const INBOUND_BACKOFF_MS = 500;
const KEEP_FAILED_S = 7 * 24 * 3600;

export interface Enqueued {
  readonly jobId: string;
  /** The queue is deeper than the configured bound: the answer should say it will take a while. */
  readonly busy: boolean;
}

/**
 * The request path's only stateful step: one `inbound` job per delivery, its id derived from
 * the platform's own event id (so a redelivery is the same job, kept `keepCompletedS`), plus
 * the bookkeeping of backpressure (queue depth, requests in flight) that costs no Redis call
 * per request.
 */
export class InboundQueue {
  readonly queue: Queue<InboundJobData>;
  private inFlight = 0;
  private toldInFlight = 0;
  private depth = 0;
  private watcher: NodeJS.Timeout | undefined;
  private closed = false;
  private events: QueueEvents | undefined;
  private eventsConnection: Redis | undefined;
  private eventsReady: Promise<QueueEvents> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly settings: InboundSettings,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue<InboundJobData>(QUEUE_NAMES.inbound, {
      connection: redis,
      prefix: settings.prefix,
      defaultJobOptions: {
        attempts: settings.attempts,
        backoff: { type: 'exponential', delay: INBOUND_BACKOFF_MS, jitter: 0.2 },
        removeOnComplete: { age: settings.keepCompletedS },
        removeOnFail: { age: KEEP_FAILED_S },
      },
    });
    this.queue.on('error', () => {});
  }

  /** The job id of one delivery: BullMQ ids may not contain ':' nor look like integers. */
  static jobId(source: InboundSource, eventId: string): string {
    return jobIdFor(`in-${source}`, eventId);
  }

  /** Whether the queue is deeper than the bound (as of the last look, at most 0.5 s ago). */
  get busy(): boolean {
    this.watch();
    return this.depth > this.settings.busyDepth;
  }

  /**
   * Counts a request in flight until `release`; throws ERR_OVERLOADED (503 + Retry-After, which
   * Slack, Telegram and Stripe deliver again) when this process already holds its bound. With
   * `tellWhenFull`, a request over the bound is let in as `told` while the overflow share has
   * room: the route verifies it and answers that it was not taken.
   */
  acquire(options: { tellWhenFull?: boolean } = {}): Admission {
    if (this.inFlight < this.settings.maxInFlight) {
      this.inFlight++;
      return 'taken';
    }
    if (options.tellWhenFull && this.toldInFlight < this.toldBound) {
      this.toldInFlight++;
      return 'told';
    }
    throw new SpawnError('ERR_OVERLOADED', undefined, { retryAfterMs: INBOUND_RETRY_AFTER_MS });
  }

  release(admission: Admission): void {
    if (admission === 'told') this.toldInFlight--;
    else this.inFlight--;
  }

  /** Requests this process holds right now (read by tests that fill the bound on purpose). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Requests over the bound being told "too busy" right now. */
  get requestsTold(): number {
    return this.toldInFlight;
  }

  /** How many requests over the bound may be told "too busy" at once. */
  get toldBound(): number {
    return Math.max(1, Math.ceil(this.settings.maxInFlight * INBOUND_OVERFLOW_SHARE));
  }

  /**
   * True the first time a delivery is claimed (within `keepCompletedS`): for routes that must
   * answer a redelivery differently from the first one (Discord acknowledges an interaction
   * once). One more Redis call, so only where it matters.
   */
  async claim(source: InboundSource, eventId: string): Promise<boolean> {
    const key = `${this.settings.prefix}:inbound-claim:${InboundQueue.jobId(source, eventId)}`;
    try {
      return (await this.redis.set(key, '1', 'EX', this.settings.keepCompletedS, 'NX')) === 'OK';
    } catch (e) {
      throw new SpawnError('ERR_QUEUE_UNAVAILABLE', undefined, {
        cause: e,
        retryAfterMs: INBOUND_RETRY_AFTER_MS,
      });
    }
  }

  /** Frees a claim whose delivery could not be queued (a redelivery may try again). */
  async unclaim(source: InboundSource, eventId: string): Promise<void> {
    await this.redis
      .del(`${this.settings.prefix}:inbound-claim:${InboundQueue.jobId(source, eventId)}`)
      .catch(() => {});
  }

  /** Adds the delivery's job (or finds it: a redelivery). Throws ERR_QUEUE_UNAVAILABLE (503). */
  async enqueue(
    source: InboundSource,
    eventId: string,
    kind: string,
    payload: unknown,
    options: { delayMs?: number; correlationId?: string } = {},
  ): Promise<Enqueued> {
    const jobId = InboundQueue.jobId(source, eventId);
    const busy = this.busy;
    // The request's trace (when tracing is on) continues in the worker's job.
    const trace = injectTrace();
    const data: InboundJobData = {
      source,
      kind,
      payload,
      correlationId: options.correlationId ?? eventId,
      receivedAt: Date.now(),
      ...(busy ? { busy } : {}),
      ...(trace ? { trace } : {}),
    };
    try {
      await withTimeout(
        this.queue.add(kind, data, { jobId, ...(options.delayMs ? { delay: options.delayMs } : {}) }),
        INBOUND_ENQUEUE_TIMEOUT_MS,
        () => new Error(`no answer within ${INBOUND_ENQUEUE_TIMEOUT_MS} ms`),
      );
    } catch (e) {
      this.logger.error({ source, kind, err: e instanceof Error ? e.message : String(e) }, 'enqueue failed');
      throw new SpawnError('ERR_QUEUE_UNAVAILABLE', undefined, {
        cause: e,
        retryAfterMs: INBOUND_RETRY_AFTER_MS,
      });
    }
    if (this.logger.isLevelEnabled('info')) {
      this.logger.info({ correlationId: data.correlationId, source, kind, jobId, busy }, 'message queued');
    }
    return { jobId, busy };
  }

  /**
   * The job's return value once it completed within `timeoutMs`; undefined when it is still
   * waiting or running then (or failed: its handler told the person). For an interactive
   * answer (the web chat) that does not need to wait for the worker but shows it when quick.
   */
  async waitFor(jobId: string, timeoutMs: number): Promise<unknown> {
    this.eventsReady ??= (async () => {
      // Its own connection: QueueEvents blocks on the event stream.
      this.eventsConnection = this.redis.duplicate({ maxRetriesPerRequest: null });
      const events = new QueueEvents(this.queue.name, {
        connection: this.eventsConnection,
        prefix: this.settings.prefix,
      });
      events.on('error', () => {});
      this.events = events;
      await events.waitUntilReady();
      return events;
    })();
    const events = await this.eventsReady;
    const job = await Job.fromId(this.queue, jobId);
    if (!job) return undefined;
    try {
      return await job.waitUntilFinished(events, timeoutMs);
    } catch {
      return undefined;
    }
  }

  /** Looks at the depth in the background, from the first request on (workers never do). */
  private watch(): void {
    if (this.watcher || this.closed) return;
    const look = () => {
      this.queue
        .getWaitingCount()
        .then((n) => {
          this.depth = n;
        })
        .catch(() => {});
    };
    look();
    this.watcher = setInterval(look, INBOUND_DEPTH_POLL_MS);
    this.watcher.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watcher);
    await this.events?.close().catch(() => {});
    this.eventsConnection?.disconnect();
    await this.queue.close();
  }
}
