/**
 * Versions of an app: list them, roll back to one (a build job that redeploys its stored
 * bundle, no model call, no cost) and export one as a zip through a signed, expiring link.
 */
import type { ConversationRef } from '../core/platform.js';
import { isTerminal } from '../core/status.js';
import type { BuildRow, Repos, SessionRow } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import { unpackBundle } from '../lib/bundle-codec.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import { STAGE_PERCENT } from '../notify/progress.js';
import { jobIdFor } from '../queue/jobs.js';
import type { Queues } from '../queue/producer.js';
import type { Requester, SpawnOutcome, SpawnService } from '../spawn/service.js';
import type { BundleStore } from '../storage/types.js';
import { injectTrace } from '../tracing.js';
import { exportZip } from './archive.js';
import type { ExportLinks } from './export-link.js';

export interface VersionServiceDeps {
  repos: Repos;
  queues: Queues;
  notifier: Notifier;
  store: BundleStore;
  links: ExportLinks;
  spawn: SpawnService;
  logger: Logger;
}

export interface RollbackRequest extends Requester {
  readonly conversation: ConversationRef;
  readonly sessionId?: string;
  readonly version: number;
  /** The message's or button press's id: the same press rolls back once. */
  readonly idempotencyKey: string;
  readonly correlationId?: string;
}

export interface AppVersions {
  readonly session: SessionRow;
  readonly versions: readonly BuildRow[];
  /** The version running now (the newest). */
  readonly current: number | undefined;
}

export interface ExportOffer {
  readonly session: SessionRow;
  readonly version: number;
  readonly url: string;
  readonly expiresAt: Date;
}

class DuplicateRequest extends Error {}

export class VersionService {
  constructor(private readonly deps: VersionServiceDeps) {}

  /** The app (named, or the conversation's, or the person's newest), which the person must own. */
  private async ownedSession(
    requester: Requester,
    conversation: ConversationRef | undefined,
    sessionId: string | undefined,
  ): Promise<SessionRow | undefined> {
    const session = await this.deps.spawn.findSession(requester, conversation, sessionId);
    if (!session) {
      if (sessionId)
        throw new SpawnError('ERR_SESSION_NOT_FOUND', `I cannot find an app with id ${sessionId}.`);
      return undefined;
    }
    const user = await this.deps.spawn.resolveUser(requester);
    if (session.userId !== user.id) throw new SpawnError('ERR_NOT_OWNER');
    return session;
  }

  private static requireRunning(session: SessionRow): void {
    if (isTerminal(session.status)) {
      throw new SpawnError('ERR_SESSION_ENDED', undefined, {
        userMessage: `That app has already ${session.status}; its versions went with it.`,
      });
    }
  }

  async list(
    requester: Requester,
    conversation: ConversationRef | undefined,
    sessionId?: string,
  ): Promise<AppVersions | undefined> {
    const session = await this.ownedSession(requester, conversation, sessionId);
    if (!session) return undefined;
    const versions = await this.deps.repos.builds.versionsForSession(session.id);
    return { session, versions, current: versions.at(-1)?.version ?? undefined };
  }

  /** Queues a rollback build: version n's bundle deployed again, as the app's newest version. */
  async rollback(req: RollbackRequest): Promise<SpawnOutcome> {
    const session = await this.ownedSession(req, req.conversation, req.sessionId);
    if (!session)
      throw new SpawnError('ERR_SESSION_NOT_FOUND', 'There is no app in this conversation to roll back.');
    VersionService.requireRunning(session);
    const requestKey = `${req.platform}:${req.idempotencyKey}`;
    const seen = await this.existing(requestKey);
    if (seen) return seen;
    let build: BuildRow;
    try {
      build = await this.deps.repos.transaction(async (tx) => {
        // The same lock as a change takes: a rollback and a change of one person cannot race.
        await tx.users.getForUpdate(session.userId);
        if (await tx.builds.getByRequestKey(requestKey)) throw new DuplicateRequest();
        const unfinished = await tx.builds.unfinishedForSession(session.id);
        if (unfinished) {
          throw new SpawnError('ERR_BUSY', undefined, {
            userMessage: `Still working on change ${unfinished.iteration} of this app; roll back when it is live.`,
          });
        }
        const current = await tx.sessions.get(session.id);
        if (current?.status !== 'live') {
          if (current && isTerminal(current.status)) VersionService.requireRunning(current);
          throw new SpawnError('ERR_NOT_LIVE');
        }
        const target = await tx.builds.getVersion(session.id, req.version);
        const running = await tx.builds.latestSucceeded(session.id);
        if (!target?.bundleKey) {
          throw new SpawnError('ERR_VERSION_NOT_FOUND', undefined, {
            userMessage: running?.version
              ? `This app has no version ${req.version}; it has versions 1 to ${running.version}. Send /versions to see them.`
              : `This app has no version ${req.version}.`,
          });
        }
        if (running && running.bundleSha256 === target.bundleSha256) {
          throw new SpawnError('ERR_VERSION_CURRENT', undefined, {
            userMessage: `Version ${req.version} is the one running now.`,
          });
        }
        const latest = await tx.builds.latestForSession(session.id);
        const created = await tx.builds.createOnce({
          sessionId: session.id,
          iteration: (latest?.iteration ?? 0) + 1,
          requestKey,
          jobId: jobIdFor('spawn', requestKey),
          prompt: `rollback to version ${req.version}`,
          builder: target.builder,
          rollbackOf: req.version,
        });
        if (!created) throw new DuplicateRequest();
        return created;
      });
    } catch (e) {
      if (e instanceof DuplicateRequest) {
        const again = await this.existing(requestKey);
        if (again) return again;
      }
      throw e;
    }
    await this.deps.queues.enqueueSpawn(
      {
        buildId: build.id,
        sessionId: session.id,
        correlationId: req.correlationId ?? requestKey,
        trace: injectTrace(),
      },
      build.jobId,
    );
    await this.deps.notifier.publish(
      {
        sessionId: session.id,
        buildId: build.id,
        iteration: build.iteration,
        stage: 'building',
        percent: STAGE_PERCENT.queued,
        detail: `rolling back to version ${req.version}`,
        final: false,
        at: Date.now(),
      },
      req.correlationId,
    );
    this.deps.logger.info(
      { sessionId: session.id, buildId: build.id, version: req.version },
      'rollback requested',
    );
    return { kind: 'iterating', session, build, duplicate: false };
  }

  private async existing(requestKey: string): Promise<SpawnOutcome | undefined> {
    const build = await this.deps.repos.builds.getByRequestKey(requestKey);
    if (!build) return undefined;
    const session = await this.deps.repos.sessions.get(build.sessionId);
    if (!session) return undefined;
    return { kind: 'iterating', session, build, duplicate: true };
  }

  /** A signed link to a zip of the version running now. */
  async exportLink(
    requester: Requester,
    conversation: ConversationRef | undefined,
    sessionId?: string,
  ): Promise<ExportOffer | undefined> {
    const session = await this.ownedSession(requester, conversation, sessionId);
    if (!session) return undefined;
    VersionService.requireRunning(session);
    const running = await this.deps.repos.builds.latestSucceeded(session.id);
    if (!running?.version) throw new SpawnError('ERR_NOT_LIVE');
    const { url, expiresAt } = this.deps.links.create({ sessionId: session.id, version: running.version });
    return { session, version: running.version, url, expiresAt };
  }

  /**
   * The zip behind an export link. The bundles of an app go when it ends, so a link to an
   * ended app (or a forged, expired one) is refused like any bad link.
   */
  async download(token: string): Promise<{ filename: string; zip: Buffer }> {
    const target = this.deps.links.verify(token);
    const session = target && (await this.deps.repos.sessions.get(target.sessionId));
    if (!target || !session || isTerminal(session.status)) throw new SpawnError('ERR_EXPORT_LINK');
    const build = await this.deps.repos.builds.getVersion(session.id, target.version);
    if (!build?.bundleKey) throw new SpawnError('ERR_EXPORT_LINK');
    const files = await unpackBundle(await this.deps.store.get(build.bundleKey));
    return exportZip(files, {
      title: session.title || session.prompt.slice(0, 60),
      prompt: session.prompt,
      version: target.version,
      sessionId: session.id,
    });
  }
}
