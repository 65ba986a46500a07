import type { FastifyInstance } from 'fastify';
import type { ConversationHandler } from '../core/conversation.js';
import type { Messenger } from '../core/messenger.js';
import type { Repos } from '../db/repos/index.js';
import { isSpawnError } from '../errors.js';
import { inSpan } from '../tracing.js';
import { withCorrelation } from '../util/correlation.js';
import type { Metrics } from './metrics.js';

/** Latency of every HTTP request, labelled by its route pattern (never the raw URL). */
export function instrumentHttp(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
}

/** Counts outbound platform calls and their rate limits around any messenger. */
export function instrumentMessenger(messenger: Messenger, metrics: Metrics): Messenger {
  const count = async <T>(method: string, call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call();
      metrics.platformCalls.inc({ platform: messenger.platform, method, outcome: 'ok' });
      return result;
    } catch (e) {
      const limited = isSpawnError(e) && e.kind === 'rate_limited';
      metrics.platformCalls.inc({
        platform: messenger.platform,
        method,
        outcome: limited ? 'rate_limited' : 'error',
      });
      if (limited) metrics.platformRateLimited.inc({ platform: messenger.platform });
      throw e;
    }
  };
  return {
    platform: messenger.platform,
    editIntervalMs: (conversation) => messenger.editIntervalMs(conversation),
    post: (conversation, view) => count('post', () => messenger.post(conversation, view)),
    update: (message, view) => count('update', () => messenger.update(message, view)),
  };
}

/** Counts build requests by platform and what became of them. */
export function instrumentConversation(
  conversation: ConversationHandler,
  metrics: Metrics,
): ConversationHandler {
  return {
    async handleMessage(message) {
      const result = await conversation.handleMessage(message);
      const outcome = result.spawn
        ? result.spawn.duplicate
          ? 'duplicate'
          : result.spawn.iteration > 1
            ? 'iterating'
            : 'created'
        : result.replies.some((r) => r.tone === 'error')
          ? 'refused'
          : undefined;
      if (outcome) metrics.spawnRequests.inc({ platform: message.platform, outcome });
      return result;
    },
    handleAction: (action) => conversation.handleAction(action),
  };
}

/** What the depth gauge needs of a queue (a BullMQ Queue has it). */
export interface CountedQueue {
  readonly name: string;
  getJobCounts(...states: ('waiting' | 'active' | 'delayed' | 'failed')[]): Promise<Record<string, number>>;
}

/** Gauges read at scrape time: queue depths and live sessions. */
export function collectState(metrics: Metrics, queues: readonly CountedQueue[], repos: Repos): void {
  metrics.onScrape(async () => {
    for (const queue of queues) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(counts)) metrics.queueJobs.set({ queue: queue.name, state }, n);
    }
  });
  metrics.onScrape(async () => {
    metrics.liveSessions.reset();
    for (const row of await repos.sessions.countLive()) {
      metrics.liveSessions.set({ provider: row.provider, platform: row.platform }, row.count);
    }
  });
}

/** Runs each message and action under its platform event id, so log lines can be followed. */

export function correlateConversation(conversation: ConversationHandler): ConversationHandler {
  return {
    handleMessage: (message) => {
      const id = message.correlationId ?? `${message.platform}:${message.idempotencyKey}`;
      return withCorrelation(id, () =>
        inSpan(
          'conversation message',
          { 'spawnai.platform': message.platform, 'spawnai.correlation_id': id },
          () => conversation.handleMessage(message),
        ),
      );
    },
    handleAction: (action) => {
      const id = `${action.platform}:${action.idempotencyKey}`;
      return withCorrelation(id, () =>
        inSpan(
          'conversation action',
          { 'spawnai.platform': action.platform, 'spawnai.action': action.action },
          () => conversation.handleAction(action),
        ),
      );
    },
  };
}
