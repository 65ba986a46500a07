import type { FastifyInstance } from 'fastify';
import type { BillingService } from '../billing/service.js';
import type { Config } from '../config/index.js';
import type { Repos } from '../db/repos/index.js';
import type { Logger } from '../log.js';
import type { Queues } from '../queue/producer.js';
import type { Redis } from '../redis/connection.js';
import type { PubSub } from '../redis/pubsub.js';
import type { ConversationHandler } from './conversation.js';
import type { Messenger } from './messenger.js';
import type { Platform } from './platform.js';

/** What the composition root hands every platform adapter. */
export interface AdapterContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly repos: Repos;
  readonly conversation: ConversationHandler;
  readonly queues: Queues;
  /** A general-purpose Redis client (dedupe keys, shared rate budgets). */
  readonly redis: Redis;
  readonly pubsub: PubSub;
  /** Plans and prices, for platforms that sell inside the chat (Telegram Stars). */
  readonly billing?: BillingService;
}

/** A long-lived platform connection run by the `bot` process. */
export interface Connection {
  stop(): Promise<void>;
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
  /** Long-lived connection (gateway, Socket Mode, long polling), only when the platform has no webhook. */
  connect?(): Promise<Connection>;
  /** Releases clients and timers. */
  close?(): Promise<void>;
}

/** Returns undefined when the platform is not configured. */
export type AdapterFactory = (context: AdapterContext) => PlatformAdapter | undefined;
