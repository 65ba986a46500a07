import type { Job } from 'bullmq';
import type { Messenger, MessengerRegistry } from '../core/messenger.js';
import { conversationKey, type MessageRef } from '../core/platform.js';
import type { Button } from '../core/view.js';
import type { Repos, SessionRow } from '../db/repos/index.js';
import type { Logger } from '../log.js';
import type { StatusStore } from '../notify/status-store.js';
import type { StatusInput, StatusViews } from '../notify/views.js';
import type { JobHandler } from '../queue/error-boundary.js';
import type { NotifyJobData } from '../queue/jobs.js';
import type { Queues } from '../queue/producer.js';
import { sleep } from '../util/time.js';

export interface NotifyDeps {
  repos: Repos;
  statusStore: StatusStore;
  messengers: MessengerRegistry;
  views: StatusViews;
  queues: Queues;
  logger: Logger;
  /** The Upgrade button of a session's card (billing), if any. */
  upgradeButton?: (session: SessionRow) => Promise<Button | undefined>;
}

/** More rounds than this in one job and the next job (coalesced by BullMQ) takes over. */
const MAX_ROUNDS_PER_JOB = 20;

/**
 * Delivers status cards and posts. Per session: intermediate states coalesce (latest wins),
 * edits are paced by the platform's interval and only start after the previous one finished,
 * and the final state is always delivered, then posted as a new message.
 */
export function createNotifyProcessor(deps: NotifyDeps): JobHandler<NotifyJobData> {
  return async (job: Job<NotifyJobData>, scope): Promise<void> => {
    // Rate limits are waited out by the error boundary (not an attempt). The platform's own
    // Retry-After is kept on a status job, so a final state does not promote it early; our own
    // pacing (the edit budget) may yield to a final state.
    scope.onError({
      delaying: async (e, waitMs) => {
        if (e.code !== 'ERR_EDIT_BUDGET_SPENT' && job.data.kind === 'status') {
          await job.updateData({ ...job.data, holdUntil: Date.now() + waitMs });
        }
      },
    });
    if (job.data.kind === 'post') await deliverPost(deps, job.data);
    else await deliverStatus(deps, job.data.sessionId);
  };
}

async function deliverPost(deps: NotifyDeps, data: Extract<NotifyJobData, { kind: 'post' }>): Promise<void> {
  const messenger = deps.messengers.get(data.conversation.platform);
  if (!messenger) {
    deps.logger.warn({ platform: data.conversation.platform }, 'no messenger for platform; post dropped');
    return;
  }
  await messenger.post(data.conversation, data.view);
}

async function deliverStatus(deps: NotifyDeps, sessionId: string): Promise<void> {
  const { repos, statusStore, messengers, views, logger } = deps;
  for (let round = 0; round < MAX_ROUNDS_PER_JOB; round++) {
    const [latest, delivered] = await Promise.all([
      statusStore.latest(sessionId),
      statusStore.delivered(sessionId),
    ]);
    if (!latest || latest.version <= delivered.version) return;

    const before = await repos.sessions.get(sessionId);
    if (!before) return;
    const messenger = messengers.get(before.platform);
    if (!messenger) {
      logger.warn({ platform: before.platform, sessionId }, 'no messenger for platform; status dropped');
      return;
    }
    const waitMs = delivered.at + messenger.editIntervalMs(before.conversation) - Date.now();
    let current = latest;
    let session = before;
    if (waitMs > 0) {
      await sleep(waitMs);
      // Re-read after waiting: newer events that arrived meanwhile coalesce into this edit,
      // and the card must show the session as it is now, not as it was before the wait.
      current = (await statusStore.latest(sessionId)) ?? latest;
      session = (await repos.sessions.get(sessionId)) ?? before;
    }
    const { event } = current;
    const build = await repos.builds.get(event.buildId);
    const input = {
      session,
      build,
      event,
      sessionCostMicroUsd: await repos.builds.costForSession(sessionId),
      now: new Date(),
      upgrade: await deps.upgradeButton?.(session).catch(() => undefined),
    };
    const card = views.statusCard(input);
    const existing: MessageRef | null =
      build?.statusMessage ?? (build?.iteration === 1 || !build ? session.statusMessage : null);

    let conversation = session.conversation;
    let updated: SessionRow | undefined;
    if (existing) {
      await messenger.update(existing, card);
    } else {
      const ref = await messenger.post(session.conversation, card);
      conversation = ref.conversation;
      if (build) await repos.builds.update(build.id, { statusMessage: ref });
      if (!session.statusMessage) {
        // The first status message may have opened a thread: follow-ups there belong to this session.
        updated = await repos.sessions.update(sessionId, {
          statusMessage: ref,
          conversation: ref.conversation,
          conversationKey: conversationKey(ref.conversation),
        });
      }
    }
    await statusStore.markDelivered(sessionId, current.version, Date.now());

    if (event.final) {
      // The session as the card showed it, with the thread its status message may have opened.
      const fresh = updated ?? session;
      await deps.queues.enqueuePost(
        {
          kind: 'post',
          sessionId,
          conversation: fresh.conversation ?? conversation,
          view: views.resultMessage({ ...input, session: fresh }),
        },
        `final-${event.buildId}-${event.stage}`,
      );
      if (event.stage === 'stopped' || event.stage === 'expired') {
        await retireEarlierCards(deps, messenger, { ...input, session: fresh }, existing);
      }
    }
  }
}

/** The newest cards of an ended session that get updated too; older ones keep their last state. */
const EARLIER_CARDS_UPDATED = 5;

/**
 * Each change of an app has its own card; once the app has ended, the earlier ones must not keep
 * offering Stop and Extend or show it live. Best effort and after the final state is delivered:
 * a failure here is logged, never retried.
 */
async function retireEarlierCards(
  deps: NotifyDeps,
  messenger: Messenger,
  input: StatusInput,
  current: MessageRef | null,
): Promise<void> {
  const builds = await deps.repos.builds.listForSession(input.session.id);
  const earlier = builds
    .filter((b) => b.id !== input.build?.id && b.statusMessage)
    .sort((a, b) => a.iteration - b.iteration)
    .slice(-EARLIER_CARDS_UPDATED);
  for (const build of earlier) {
    const ref = build.statusMessage as MessageRef;
    if (current && ref.messageId === current.messageId) continue;
    try {
      await messenger.update(ref, deps.views.statusCard({ ...input, build }));
    } catch (e) {
      deps.logger.info(
        { sessionId: input.session.id, buildId: build.id, err: e instanceof Error ? e.message : String(e) },
        'an earlier status card was not updated',
      );
    }
  }
}
