import { mkdirSync, realpathSync } from 'node:fs';
import { appendFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { SpawnError, toSpawnError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { freePort } from '../../redis/local-server.js';
import { extractBundle, unpackBundle } from '../../storage/bundle.js';
import type { Deployment, DeployRequest, Provider, ProviderService } from '../types.js';
import { cancelledError } from '../wait.js';
import { findStartEntry } from './entry.js';
import {
  type AppProcess,
  boundLog,
  type ExitInfo,
  logSize,
  portIsFree,
  startApp,
  tailLog,
  terminateGroup,
  waitUntilListening,
} from './process.js';
import {
  assertSessionId,
  isAppProcessRunning,
  isSafeSessionId,
  type LocalAppState,
  readState,
  type SessionPaths,
  sessionPaths,
  writeState,
} from './state.js';

/** How long an app may take to accept connections, unless `startTimeoutMs` says otherwise. */
export const LOCAL_START_TIMEOUT_MS = 15_000;
/** An app's log is cut once it grows past this. */
export const LOCAL_LOG_MAX_BYTES = 1024 * 1024;
/** How often the logs of running apps are checked against {@link LOCAL_LOG_MAX_BYTES}. */
export const LOCAL_LOG_CHECK_INTERVAL_MS = 5_000;
/** Lines of an app's log quoted when it fails to start. */
const LOG_LINES_IN_ERRORS = 10;

export interface LocalProviderOptions {
  /** Folder holding one folder per session (`<sessionId>/app`, `app.log`, `state.json`). */
  readonly appsDir: string;
  /** Heap limit of each app (`--max-old-space-size`), in MiB; at least 16. */
  readonly memoryMb: number;
  /** Host of the preview URLs (`http://<previewHost>:<port>`). */
  readonly previewHost: string;
  readonly logger: Logger;
  /** How long an app may take to listen on its port; default {@link LOCAL_START_TIMEOUT_MS}. */
  readonly startTimeoutMs?: number;
}

function validate(options: LocalProviderOptions): Required<Omit<LocalProviderOptions, 'logger'>> {
  const bad = (what: string) => new SpawnError('ERR_CONFIG', `local provider: ${what}`);
  if (!options.appsDir) throw bad('appsDir is required');
  if (!Number.isInteger(options.memoryMb) || options.memoryMb < 16) {
    throw bad('memoryMb must be an integer of at least 16');
  }
  if (!options.previewHost || /[/\s]/.test(options.previewHost)) throw bad('previewHost must be a host name');
  const startTimeoutMs = options.startTimeoutMs ?? LOCAL_START_TIMEOUT_MS;
  if (!(startTimeoutMs > 0)) throw bad('startTimeoutMs must be positive');
  return Object.freeze({
    appsDir: options.appsDir,
    memoryMb: options.memoryMb,
    previewHost: options.previewHost,
    startTimeoutMs,
  });
}

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function withLog(message: string, lines: readonly string[]): string {
  if (lines.length === 0) return `${message} It wrote nothing to its log.`;
  return `${message} Last lines of its log:\n${lines.join('\n')}`;
}

/**
 * Runs each app as a child process on its own port: Node's permission model limited to the
 * app's folder, no child processes or workers, a heap limit, an environment of only PORT and
 * NODE_ENV, and its own process group. State lives in `<appsDir>/<sessionId>/state.json`, so
 * `status` and `list` work across processes and restarts.
 *
 * @throws SpawnError `ERR_CONFIG` for invalid options.
 */
export function createLocalProvider(options: LocalProviderOptions): Provider {
  const config = validate(options);
  const logger = options.logger.child({ module: 'provision/local' });
  mkdirSync(config.appsDir, { recursive: true });
  // The permission model and the /proc check compare literal paths: use the real one.
  const appsDir = realpathSync(config.appsDir);

  const running = new Map<string, AppProcess>();
  const locks = new Map<string, Promise<unknown>>();
  const closing = new AbortController();

  const logTimer = setInterval(() => {
    for (const app of running.values()) {
      boundLog(app.logFile, LOCAL_LOG_MAX_BYTES).catch((e: unknown) =>
        logger.warn({ err: e, sessionId: app.sessionId }, 'could not trim an app log'),
      );
    }
  }, LOCAL_LOG_CHECK_INTERVAL_MS);
  logTimer.unref();

  /** Runs `fn` after every earlier operation on the same session has finished. */
  function serialize<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(sessionId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    const settled = next.catch(() => undefined);
    locks.set(sessionId, settled);
    void settled.then(() => {
      if (locks.get(sessionId) === settled) locks.delete(sessionId);
    });
    return next;
  }

  function urlOf(port: number): string {
    return `http://${config.previewHost}:${port}`;
  }

  async function stopApp(app: AppProcess): Promise<void> {
    const gone = await terminateGroup(app.pid, async () => app.exit !== undefined, app.exited);
    if (!gone) logger.error({ sessionId: app.sessionId, pid: app.pid }, 'an app did not exit after SIGKILL');
    if (running.get(app.sessionId) === app) running.delete(app.sessionId);
  }

  /** Stops whatever runs for the session: a child of ours, or a process another instance started. */
  async function stopSession(sessionId: string, paths: SessionPaths, state: LocalAppState | undefined) {
    const ours = running.get(sessionId);
    if (ours) await stopApp(ours);
    const pid = state?.pid;
    if (pid && pid !== ours?.pid && (await isAppProcessRunning(pid, paths.appDir))) {
      const gone = await terminateGroup(pid, async () => !(await isAppProcessRunning(pid, paths.appDir)));
      if (!gone) logger.error({ sessionId, pid }, 'an app did not exit after SIGKILL');
    }
  }

  async function markStopped(paths: SessionPaths, state: LocalAppState): Promise<void> {
    await writeState(paths.stateFile, { ...state, pid: null, stoppedAt: new Date().toISOString() });
  }

  async function choosePort(previous: LocalAppState | undefined): Promise<number> {
    if (previous && (await portIsFree(previous.port))) return previous.port;
    return freePort();
  }

  async function deployLocked(request: DeployRequest, signal: AbortSignal): Promise<Deployment> {
    const { sessionId, buildId } = request;
    const paths = sessionPaths(appsDir, sessionId);
    const log = logger.child({ sessionId, buildId });
    if (signal.aborted) throw cancelledError(signal, 'the deploy');

    request.onProgress('fetching the bundle');
    let tarball: Buffer;
    try {
      tarball = await request.fetchBundle();
    } catch (e) {
      throw toSpawnError(e, 'ERR_STORE_FAILED');
    }
    // Everything is checked before the running version is touched: a bad build keeps the old one up.
    const files = await unpackBundle(tarball);
    const entry = findStartEntry(files);
    if (signal.aborted) throw cancelledError(signal, 'the deploy');

    const previous = await readState(paths.stateFile);
    await mkdir(paths.sessionDir, { recursive: true });
    try {
      await rm(paths.nextDir, { recursive: true, force: true });
      await extractBundle(tarball, paths.nextDir);
      request.onProgress(`unpacked ${files.length} files`);
      if (running.has(sessionId) || (previous && (await isRunning(paths, previous)))) {
        request.onProgress('stopping the previous version');
      }
      await stopSession(sessionId, paths, previous);
      await rm(paths.appDir, { recursive: true, force: true });
      await rename(paths.nextDir, paths.appDir);
    } catch (e) {
      // A first deploy that failed before starting anything leaves nothing behind.
      if (!previous) await rm(paths.sessionDir, { recursive: true, force: true }).catch(() => undefined);
      throw toSpawnError(e, 'ERR_DEPLOY_FAILED');
    }

    const port = await choosePort(previous);
    await boundLog(paths.logFile, LOCAL_LOG_MAX_BYTES).catch(() => undefined);
    await appendFile(paths.logFile, `--- ${new Date().toISOString()} build ${buildId}: node ${entry} ---\n`);
    const logOffset = await logSize(paths.logFile);
    request.onProgress(`starting node ${entry} on port ${port}`);
    const app = await startApp({
      sessionId,
      appDir: paths.appDir,
      entry,
      port,
      memoryMb: config.memoryMb,
      logFile: paths.logFile,
    });
    running.set(sessionId, app);
    void app.exited.then((exit) => {
      if (running.get(sessionId) === app) running.delete(sessionId);
      log.info({ pid: app.pid, ...exit }, 'app exited');
    });
    const state: LocalAppState = {
      sessionId,
      buildId,
      pid: app.pid,
      port,
      startedAt: new Date().toISOString(),
    };
    try {
      await writeState(paths.stateFile, state);
    } catch (e) {
      // An app that no state file points at could outlive this process unnoticed.
      await stopApp(app);
      throw new SpawnError('ERR_DEPLOY_FAILED', "could not record the app's state", { cause: e });
    }
    log.info({ pid: app.pid, port, entry }, 'app started');

    const outcome = await waitUntilListening(app, port, config.startTimeoutMs, signal);
    if (outcome.kind === 'listening') {
      request.onProgress(`listening on port ${port}`);
      return { serviceId: `local-${sessionId}`, url: urlOf(port) };
    }
    await stopApp(app);
    await markStopped(paths, state);
    if (outcome.kind === 'aborted') throw cancelledError(signal, 'the deploy');
    // Paths relative to the app folder: shorter, and the server's layout stays private.
    const lines = (await tailLog(paths.logFile, logOffset, LOG_LINES_IN_ERRORS)).map((line) =>
      line.replaceAll(`file://${paths.appDir}/`, '').replaceAll(`${paths.appDir}/`, ''),
    );
    log.warn({ outcome: outcome.kind }, 'app did not start');
    if (outcome.kind === 'exited') {
      const message = `The app ${describeExit(outcome.exit)} before it listened on its port.`;
      throw new SpawnError('ERR_DEPLOY_FAILED', withLog(message, lines));
    }
    const seconds = Math.round(config.startTimeoutMs / 100) / 10;
    const message = `The app did not listen on its port (PORT=${port}) within ${seconds} s.`;
    // The app's own fault: starting it again would wait just as long, so this is not retried.
    throw new SpawnError('ERR_DEPLOY_FAILED', withLog(message, lines));
  }

  async function isRunning(paths: SessionPaths, state: LocalAppState): Promise<boolean> {
    return state.pid !== null && (await isAppProcessRunning(state.pid, paths.appDir));
  }

  return {
    name: 'local',

    async deploy(request: DeployRequest): Promise<Deployment> {
      assertSessionId(request.sessionId);
      if (closing.signal.aborted) throw cancelledError(closing.signal, 'the deploy');
      const signal = AbortSignal.any([request.signal, closing.signal]);
      return serialize(request.sessionId, () => deployLocked(request, signal));
    },

    async status(sessionId: string) {
      assertSessionId(sessionId);
      const paths = sessionPaths(appsDir, sessionId);
      const state = await readState(paths.stateFile);
      if (!state) return 'missing';
      return (await isRunning(paths, state)) ? 'running' : 'stopped';
    },

    async destroy(sessionId: string): Promise<void> {
      assertSessionId(sessionId);
      return serialize(sessionId, async () => {
        const paths = sessionPaths(appsDir, sessionId);
        await stopSession(sessionId, paths, await readState(paths.stateFile));
        try {
          await rm(paths.sessionDir, { recursive: true, force: true });
        } catch (e) {
          throw new SpawnError('ERR_INTERNAL', "could not remove the app's folder", { cause: e });
        }
        logger.info({ sessionId }, 'app destroyed');
      });
    },

    async list(): Promise<ProviderService[]> {
      let names: string[];
      try {
        names = (await readdir(appsDir, { withFileTypes: true }))
          .filter((d) => d.isDirectory() && isSafeSessionId(d.name))
          .map((d) => d.name);
      } catch {
        return [];
      }
      const services = await Promise.all(
        names.sort().map(async (sessionId): Promise<ProviderService | undefined> => {
          const paths = sessionPaths(appsDir, sessionId);
          const state = await readState(paths.stateFile);
          if (!state) return undefined;
          return {
            serviceId: `local-${sessionId}`,
            sessionId,
            url: urlOf(state.port),
            running: await isRunning(paths, state),
          };
        }),
      );
      return services.filter((s): s is ProviderService => s !== undefined);
    },

    async close(): Promise<void> {
      if (!closing.signal.aborted) {
        closing.abort(new SpawnError('ERR_PROVIDER_UNAVAILABLE', 'the local provider is shutting down'));
      }
      clearInterval(logTimer);
      await Promise.all([...locks.values()]);
      await Promise.all(
        [...running.values()].map(async (app) => {
          await stopApp(app);
          const paths = sessionPaths(appsDir, app.sessionId);
          const state = await readState(paths.stateFile);
          if (state && state.pid === app.pid) await markStopped(paths, state);
        }),
      );
      logger.info('local provider closed');
    },
  };
}
