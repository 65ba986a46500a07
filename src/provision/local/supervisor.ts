import { readdir } from 'node:fs/promises';
import type { Logger } from '../../log.js';
import { type AppCgroup, cgroupEvents, killCgroup, removeCgroup } from './cgroups.js';
import {
  type AppLimits,
  folderLimitHit,
  folderUsage,
  type LimitHit,
  limitHit,
  logShowsOutOfMemory,
} from './limits.js';
import { ownerAlive, thisProcess } from './ownership.js';
import { type AppProcess, boundLog, type ExitInfo, tailLog, terminateApp, treeRssMb } from './process.js';
import {
  isAppProcessRunning,
  isSafeSessionId,
  type LocalAppState,
  readState,
  type SessionPaths,
  sessionPaths,
  writeState,
} from './state.js';

/** An app's log is cut once it grows past this. */
export const LOCAL_LOG_MAX_BYTES = 1024 * 1024;

/** An app this provider instance runs, or took over from a process that died. */
export interface RunningApp {
  readonly sessionId: string;
  readonly paths: SessionPaths;
  readonly pid: number;
  /** Our child; undefined for an app taken over from a dead process. */
  readonly process: AppProcess | undefined;
  readonly cgroup: AppCgroup | undefined;
  /** Where this run's output starts in the log. */
  readonly logOffset: number;
  /** Deployed and answering: a limit hit from now on is reported through `onLimit`. */
  live: boolean;
  /** Being stopped on purpose (a redeploy, destroy, close): its exit is nobody's news. */
  stopping: boolean;
  /** The limit that ended it, once one did. */
  hit: LimitHit | undefined;
}

export interface SupervisorDeps {
  readonly appsDir: string;
  readonly limits: AppLimits;
  readonly logger: Logger;
  /** Called when one of its limits ended an app that was running; `reason` is for its card. */
  readonly onLimit?: ((sessionId: string, reason: string) => void) | undefined;
  /** Runs `fn` after every earlier operation on the same session (the provider's lock). */
  readonly serialize: <T>(sessionId: string, fn: () => Promise<T>) => Promise<T>;
}

export async function isRunning(paths: SessionPaths, state: LocalAppState): Promise<boolean> {
  return state.pid !== null && (await isAppProcessRunning(state.pid, paths.appDir));
}

/** The sessions that have a folder under `appsDir`, sorted. */
export async function sessionIds(appsDir: string): Promise<string[]> {
  try {
    return (await readdir(appsDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && isSafeSessionId(d.name))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Keeps the apps of one provider instance: ends them (SIGTERM, then SIGKILL, then their
 * control groups), finds out which limit ended one (the kernel's counters, its folder, its
 * log) and reports it, checks running apps against the limits the kernel does not enforce by
 * itself, and takes over apps whose owning process died.
 */
export function createSupervisor(deps: SupervisorDeps) {
  const { appsDir, limits, logger } = deps;
  const running = new Map<string, RunningApp>();
  /** Apps that just exited while running, and the work that finds out (and records) why. */
  const settling = new Map<string, Promise<void>>();

  /** Which limit an app reached: the kernel's counters, its folder, and (once it died) its log. */
  async function limitOf(app: RunningApp, exited: boolean): Promise<LimitHit | undefined> {
    if (app.cgroup) {
      const events = await cgroupEvents(app.cgroup);
      if (events.oomKills > 0) return limitHit('memory', limits);
      if (events.processesRefused > 0) return limitHit('processes', limits);
    } else if (!exited && (await treeRssMb(app.pid)) > limits.memoryMb) {
      // Without a memory cgroup, RLIMIT_DATA caps each process, but V8 may collect garbage in
      // vain for a long time at that cap: past its memory the whole app is ended from here.
      return limitHit('memory', limits);
    }
    const usage = await folderUsage([app.paths.appDir, app.paths.runDir], limits.files + 1);
    const folder = folderLimitHit(usage, limits);
    if (folder) return folder;
    if (exited && logShowsOutOfMemory(await tailLog(app.paths.logFile, app.logOffset, 40))) {
      return limitHit('memory', limits);
    }
    return undefined;
  }

  async function stopApp(app: RunningApp): Promise<void> {
    app.stopping = true;
    await terminate(app);
  }

  async function terminate(app: RunningApp): Promise<void> {
    const gone = app.process
      ? async () => app.process?.exit !== undefined
      : async () => !(await isAppProcessRunning(app.pid, app.paths.appDir));
    const ok = await terminateApp(app.pid, gone, {
      ...(app.process ? { wake: app.process.exited } : {}),
      ...(app.cgroup ? { alsoKill: async () => void (await killCgroup(app.cgroup!)) } : {}),
    });
    if (!ok) logger.error({ sessionId: app.sessionId, pid: app.pid }, 'an app did not exit after SIGKILL');
    if (app.cgroup && !(await removeCgroup(app.cgroup))) {
      logger.warn(
        { sessionId: app.sessionId, dirs: app.cgroup.dirs },
        "could not remove an app's control groups",
      );
    }
    if (running.get(app.sessionId) === app) running.delete(app.sessionId);
  }

  /** Records that a limit ended the app, for `stopReason`, and tells the owner of the session. */
  async function recordLimit(app: RunningApp, hit: LimitHit): Promise<void> {
    const state = await readState(app.paths.stateFile);
    if (state && state.pid === app.pid) {
      await writeState(app.paths.stateFile, {
        ...state,
        pid: null,
        stoppedAt: new Date().toISOString(),
        limit: hit.limit,
        stopReason: hit.reason,
      });
    }
    logger.warn({ sessionId: app.sessionId, limit: hit.limit }, `app stopped: ${hit.reason}`);
    if (app.live) deps.onLimit?.(app.sessionId, hit.reason);
  }

  async function onExit(app: RunningApp, exit: ExitInfo): Promise<void> {
    logger.info({ sessionId: app.sessionId, pid: app.pid, ...exit }, 'app exited');
    // A deploy still waiting for it reports the failure itself.
    if (app.stopping || !app.live) {
      if (running.get(app.sessionId) === app) running.delete(app.sessionId);
      return;
    }
    // stopReason() waits for this: the reaper must not take an app a limit ended for one to restart.
    const verdict = (async () => {
      if (running.get(app.sessionId) === app) running.delete(app.sessionId);
      const hit = app.hit ?? (await limitOf(app, true));
      if (hit) await recordLimit(app, hit);
      if (app.cgroup) await removeCgroup(app.cgroup);
    })();
    settling.set(app.sessionId, verdict);
    try {
      await verdict;
    } finally {
      if (settling.get(app.sessionId) === verdict) settling.delete(app.sessionId);
    }
  }

  /** Ends apps past a limit the kernel does not stop by itself, and keeps logs bounded. */
  async function watch(): Promise<void> {
    for (const app of [...running.values()]) {
      if (app.stopping || app.hit) continue;
      await boundLog(app.paths.logFile, LOCAL_LOG_MAX_BYTES).catch(() => undefined);
      if (!app.process) {
        if (!(await isAppProcessRunning(app.pid, app.paths.appDir))) running.delete(app.sessionId);
        continue;
      }
      const hit = await limitOf(app, false).catch(() => undefined);
      if (!hit || app.stopping) continue;
      // Its exit is then reported with this reason: by the deploy that waits for it, or by onExit.
      app.hit = hit;
      if (!app.live) {
        await terminate(app);
        continue;
      }
      await deps.serialize(app.sessionId, async () => {
        if (running.get(app.sessionId) === app) await terminate(app);
      });
    }
  }

  /** Takes over apps whose owning process died, and removes what dead apps left behind. */
  async function adopt(): Promise<void> {
    const me = await thisProcess();
    for (const sessionId of await sessionIds(appsDir)) {
      const paths = sessionPaths(appsDir, sessionId);
      const state = await readState(paths.stateFile);
      if (!state || running.has(sessionId)) continue;
      if (await ownerAlive({ pid: state.ownerPid, startedAt: state.ownerStartedAt })) continue;
      if (state.pid !== null && (await isRunning(paths, state))) {
        running.set(sessionId, {
          sessionId,
          paths,
          pid: state.pid,
          process: undefined,
          cgroup: state.cgroup,
          logOffset: 0,
          live: true,
          stopping: false,
          hit: undefined,
        });
        await writeState(paths.stateFile, { ...state, ownerPid: me.pid, ownerStartedAt: me.startedAt });
        logger.info({ sessionId, pid: state.pid }, 'took over an app whose service process died');
      } else if (state.cgroup) {
        await removeCgroup(state.cgroup);
      }
    }
  }

  /** Stops whatever runs for the session: an app of ours, or one another process started. */
  async function stopSession(sessionId: string, paths: SessionPaths, state: LocalAppState | undefined) {
    const ours = running.get(sessionId);
    if (ours) await stopApp(ours);
    const pid = state?.pid;
    if (pid && pid !== ours?.pid && (await isAppProcessRunning(pid, paths.appDir))) {
      const foreign: RunningApp = {
        sessionId,
        paths,
        pid,
        process: undefined,
        cgroup: state?.cgroup,
        logOffset: 0,
        live: false,
        stopping: true,
        hit: undefined,
      };
      await terminate(foreign);
    } else if (state?.cgroup && !ours) {
      await removeCgroup(state.cgroup);
    }
  }

  return {
    running,
    /** Starts watching a new app of ours; its exit is handled from here on. */
    add(app: RunningApp): void {
      running.set(app.sessionId, app);
      void app.process?.exited.then((exit) => onExit(app, exit));
    },
    limitOf,
    stopApp,
    stopSession,
    watch,
    adopt,
    /** Resolves once the reason of a just-ended app is on record. */
    settled: async (sessionId: string) => {
      await settling.get(sessionId)?.catch(() => undefined);
    },
  };
}
