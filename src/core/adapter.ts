import type { FastifyInstance } from 'fastify';
import type { BillingService } from '../billing/service.js';
import type { Config } from '../config/index.js';
import type { Repos } from '../db/repos/index.js';
import type { Logger } from '../log.js';
import type { InboundQueue } from '../queue/inbound.js';
import type { Queues } from '../queue/producer.js';
import type { Redis } from '../redis/connection.js';
import type { PubSub } from '../redis/pubsub.js';
import type { FileFetcher } from './attachments.js';
import type { ConversationHandler } from './conversation.js';
import type { InboundHandler } from './inbound-handler.js';
import type { Messenger } from './messenger.js';
import type { Platform } from './platform.js';

/** What the composition root hands every platform adapter. */
export interface AdapterContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly repos: Repos;
  readonly conversation: ConversationHandler;
  readonly queues: Queues;
  /** Where routes and long-lived connections put every delivery (verify, parse, enqueue, answer). */
  readonly inbound: InboundQueue;
  /** A general-purpose Redis client (dedupe keys, shared rate budgets). */
  readonly redis: Redis;
  readonly pubsub: PubSub;
  /** Plans and prices, for platforms that sell inside the chat (Telegram Stars). */
  readonly billing?: BillingService;
}

/** A long-lived platform connection run by the `bot` process. */
export interface Connection {
  stop(): Promise<void>;
  /**
   * Settles when the connection is gone for good and will not come back by itself (the
   * process's supervisor then reconnects with growing waits). Absent: it never gives up.
   */
  readonly lost?: Promise<unknown>;
  /** `'ok'`, or why it is not receiving right now (e.g. reconnecting by itself). */
  health?(): string;
}

/**
 * One chat platform. Adding a platform is a folder under adapters/ exporting a factory of
 * this shape, and one line in adapters/registry.ts.
 */
export interface PlatformAdapter {
  readonly platform: Platform;
  /** Outbound: usable from any process (REST only). */
  readonly messenger: Messenger;
  /** HTTP routes on the web process: webhooks, OAuth, pages. Verification comes first. */
  registerRoutes?(app: FastifyInstance): Promise<void>;
  /** Worker side: the conversation from one delivery its routes or connection enqueued. */
  readonly inbound?: InboundHandler;
  /** Worker side: the bytes of files people attached, fetched with the platform's own credentials. */
  readonly files?: FileFetcher;
  /**
   * Long-lived connection (gateway, Socket Mode, long polling), only when the platform has no
   * webhook. One attempt: it resolves once connected or rejects (a StartupError, or an `auth`
   * or `permission` SpawnError, when retrying cannot help); the caller retries.
   */
  connect?(): Promise<Connection>;
  /** Releases clients and timers. */
  close?(): Promise<void>;
}

/** Returns undefined when the platform is not configured. */
export type AdapterFactory = (context: AdapterContext) => PlatformAdapter | undefined;
