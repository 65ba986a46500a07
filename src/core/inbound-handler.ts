import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../log.js';
import type { Platform } from './platform.js';

/** Where an incoming message came from: a chat platform, or Stripe's webhook. */
export type InboundSource = Platform | 'stripe';

/**
 * One verified, parsed delivery from a platform (a webhook request, a gateway or Socket Mode
 * event, a long-polled update), as its adapter enqueued it. The conversation (users, sessions,
 * builds, replies) runs from it in the inbound worker. The job id is derived from the
 * platform's own event id, so a redelivery is the same job.
 */
export interface InboundJobData {
  readonly source: InboundSource;
  /** What the adapter calls this kind of delivery (`command`, `event`, `update`, ...). */
  readonly kind: string;
  /** The parsed delivery, as JSON; only the adapter that enqueued it reads it. */
  readonly payload: unknown;
  /** The platform's event id; appears on every log line of the job. */
  readonly correlationId: string;
  /** When the route accepted it (Unix ms). */
  readonly receivedAt: number;
  /** The queue was deep when it was taken (the acknowledgement said so, where there is one). */
  readonly busy?: boolean;
  /** W3C trace context of the request, so the job's spans join its trace (OpenTelemetry). */
  readonly trace?: Record<string, string> | undefined;
}

/** What a platform's inbound handler gets for one delivery, in the worker. */
export interface InboundContext {
  readonly data: InboundJobData;
  readonly jobId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** No attempt follows this one: failures must be told to the person now. */
  readonly finalAttempt: boolean;
  /**
   * Runs `send` at most once per `key` for this delivery, across attempts and worker crashes:
   * a retried job never tells the person something twice. When `send` throws, the key is freed
   * (the next attempt may try again) and the error passes through.
   */
  once(key: string, send: () => Promise<void>): Promise<void>;
  readonly logger: Logger;
}

/** The worker side of one platform: the conversation from a delivery its routes enqueued. */
export type InboundHandler = (ctx: InboundContext) => Promise<unknown>;

const scope = new AsyncLocalStorage<InboundContext>();

/** Runs `fn` as the handling of one delivery: code deep inside (an SDK's middleware) can reach it. */
export function inInbound<T>(ctx: InboundContext, fn: () => Promise<T>): Promise<T> {
  return scope.run(ctx, fn);
}

/** The delivery being handled, when running inside {@link inInbound}. */
export function currentInbound(): InboundContext | undefined {
  return scope.getStore();
}
