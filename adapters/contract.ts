import type { FastifyInstance } from 'fastify';
import type { BillingService } from '../src/billing/service.js';
import type { Config } from '../src/config/index.js';
import type { Connection } from '../src/connections/connection.js';
import type { FileFetcher } from '../src/core/attachments.js';
import type { ConversationHandler } from '../src/core/conversation.js';
import type { InboundHandler } from '../src/core/inbound-handler.js';
import type { Messenger } from '../src/core/messenger.js';
import type { Platform } from '../src/core/platform.js';
import type { Repos } from '../src/db/repos/index.js';
import type { Logger } from '../src/log.js';
import type { InboundQueue } from '../src/queue/inbound.js';
import type { Queues } from '../src/queue/producer.js';
import type { Redis } from '../src/redis/connection.js';
import type { PubSub } from '../src/redis/pubsub.js';

/**
 * What the composition root holds for the platform adapters. No adapter takes it whole:
 * registry.ts hands each one its own settings and the few services it declares.
 */
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

/**
 * One chat platform. Adding a platform is a folder under adapters/ with the same parts as the
 * others (index, verify, parse, render, messenger, routes, connection, setup: see
 * test/unit/architecture/adapter-shape.test.ts), a factory of its own settings and services
 * returning this shape, and one line in adapters/registry.ts.
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
   * or `permission` SpawnError, when retrying cannot help); the caller retries. `signal`
   * aborts an attempt the caller has given up on: it must not reach the platform afterwards.
   */
  connect?(signal?: AbortSignal): Promise<Connection>;
  /** Releases clients and timers. */
  close?(): Promise<void>;
}

/** Resolves to undefined when the platform is not configured. */
export type AdapterFactory = (context: AdapterContext) => Promise<PlatformAdapter | undefined>;

export type { Connection };
