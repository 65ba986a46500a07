import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../log.js';
import type { InboundJobData } from '../queue/jobs.js';

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
