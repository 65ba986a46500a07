import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { appendFile, chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SpawnError, toSpawnError } from '../../errors.js';
import { extractBundle, unpackBundle } from '../../lib/bundle-codec.js';
import { freePort } from '../../util/free-port.js';
import type { CodeOrigin, Deployment, DeployRequest, Provider, ProviderService } from '../types.js';
import { cancelledError } from '../wait.js';
import { appCgroupName, createAppCgroup, removeCgroup } from './cgroups.js';
import { findStartEntry } from './entry.js';
import { findProgram, nodeDataBaselineMb } from './host-tools.js';
import { heapMb } from './limits.js';
import { HOST_LABEL, type LocalProviderOptions, validate } from './options.js';
import { chownTree, socketBase, thisProcess } from './ownership.js';
import { BRIDGE_FILE, BRIDGE_SOURCE, PREVIEW_SOCKET } from './preview-bridge.js';
import { createPreviewPort } from './preview-port.js';
import {
  boundLog,
  type ExitInfo,
  logSize,
  portIsFree,
  startApp,
  tailLog,
  waitUntilListening,
} from './process.js';
import {
  CGROUP_JOIN_FAILED_EXIT,
  detectSandbox,
  INSIDE,
  type SandboxReport,
  sandboxedLaunch,
  unsandboxedLaunch,
} from './sandbox.js';
import {
  assertSessionId,
  isSafeSessionId,
  type LocalAppState,
  readState,
  type SessionPaths,
  sessionPaths,
  writeState,
} from './state.js';
import {
  createSupervisor,
  isRunning,
  LOCAL_LOG_MAX_BYTES,
  type RunningApp,
  sessionIds,
} from './supervisor.js';

/** Lines of an app's log quoted when it fails to start. */
const LOG_LINES_IN_ERRORS = 10;

export { type AppLimits, DEFAULT_APP_LIMITS } from './limits.js';
export { LOCAL_START_TIMEOUT_MS, LOCAL_WATCH_INTERVAL_MS, type LocalProviderOptions } from './options.js';
export { detectSandbox, type SandboxReport } from './sandbox.js';

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function withLog(message: string, lines: readonly string[]): string {
  if (lines.length === 0) return `${message} It wrote nothing to its log.`;
  return `${message} Last lines of its log:\n${lines.join('\n')}`;
}

interface Runtime {
  readonly report: SandboxReport;
  readonly bridgeFile: string;
  /** util-linux prlimit, which sets an app's rlimits. */
  readonly prlimit: string | undefined;
  /** Without memory control groups: RLIMIT_DATA of each app process, in MiB. */
  readonly dataLimitMb: number | undefined;
}

/**
 * Runs each app in a sandbox (bubblewrap: its own user, network, PID, IPC and mount
 * namespaces, nothing of the host's files but the Node runtime and its own folder, cgroup
 * and rlimit limits) and serves every preview from one port, on a host name per app, through
 * a Unix socket in the app's folder. Where no sandbox can be had, only the offline builder's
 * templates run (under Node's permission model), unless the operator opted out. State lives
 * in `<appsDir>/<sessionId>/state.json`, so `status` and `list` work across processes and
 * restarts, and a process that starts takes over the apps of one that died.
 *
 * @throws SpawnError `ERR_CONFIG` for invalid options.
 */
export function createLocalProvider(options: LocalProviderOptions): Provider & {
  /** What the sandbox enforces here, once detected. */
  sandboxReport(): Promise<SandboxReport>;
  /** The preview port, once started. */
  previewPort(): number | undefined;
} {
  const config = validate(options);
  const logger = options.logger.child({ module: 'provision/local' });
  const nodePermissions = options.sandbox?.nodePermissions ?? true;
  mkdirSync(config.appsDir, { recursive: true });
  // /proc checks and bind mounts compare literal paths: use the real one.
  const appsDir = realpathSync(config.appsDir);
  const runtimeDir = path.join(appsDir, '.runtime');
  const holderFile = path.join(runtimeDir, 'preview-proxy.json');

  const locks = new Map<string, Promise<unknown>>();
  const closing = new AbortController();
  let runtime: Promise<Runtime> | undefined;
  let started: Promise<void> | undefined;
  let sockets = appsDir;
  let watchTimer: NodeJS.Timeout | undefined;
  const supervisor = createSupervisor({
    appsDir,
    limits: config.limits,
    logger,
    onLimit: options.onLimit,
    serialize: (sessionId, fn) => serialize(sessionId, fn),
  });
  const { running } = supervisor;
  const previews = createPreviewPort({
    runtimeDir,
    holderFile,
    host: config.previewListenHost,
    port: config.previewPort,
    domain: config.previewHost,
    socketOf: (label) => socketOf(label),
    logger,
  });

  /** Detects the sandbox and writes the bridge, once. */
  function prepare(): Promise<Runtime> {
    runtime ??= (async () => {
      const report = await detectSandbox(appsDir, options.sandbox ?? {});
      await mkdir(runtimeDir, { recursive: true, mode: 0o755 });
      await chmod(runtimeDir, 0o755);
      const bridgeFile = path.join(runtimeDir, BRIDGE_FILE);
      await writeFile(bridgeFile, BRIDGE_SOURCE, { mode: 0o644 });
      await chmod(bridgeFile, 0o644);
      const prlimit =
        report.sandbox.kind === 'bubblewrap' ? report.sandbox.prlimit : await findProgram('prlimit');
      if (report.sandbox.kind === 'none')
        logger.warn({ reason: report.sandbox.reason }, 'no sandbox for local apps');
      else logger.info({ enforced: report.enforced, notEnforced: report.notEnforced }, 'local app sandbox');
      const byCgroup = report.sandbox.kind === 'bubblewrap' && report.sandbox.cgroups?.parents.memory;
      const baseline =
        byCgroup || !prlimit
          ? undefined
          : await nodeDataBaselineMb(process.execPath, heapMb(config.limits.memoryMb));
      const dataLimitMb = baseline === undefined ? undefined : baseline + config.limits.memoryMb;
      return { report, bridgeFile, prlimit, dataLimitMb };
    })();
    runtime.catch(() => {
      runtime = undefined;
    });
    return runtime;
  }

  /** The socket of the app at `<label>.<previewHost>`, when there is such an app (running or not). */
  function socketOf(label: string): string | undefined {
    if (!HOST_LABEL.test(label) || !isSafeSessionId(label)) return undefined;
    if (!existsSync(path.join(sockets, label, 'state.json'))) return undefined;
    return path.join(sockets, label, 'run', PREVIEW_SOCKET);
  }

  function urlOf(sessionId: string): string {
    return `http://${sessionId}.${config.previewHost}:${previews.port()}`;
  }

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

  function start(): Promise<void> {
    if (closing.signal.aborted) return Promise.reject(cancelledError(closing.signal, 'starting'));
    started ??= (async () => {
      // The sandbox probe runs meanwhile; the first deploy (or notices()) waits for it.
      prepare().catch(() => undefined);
      sockets = await socketBase(appsDir);
      await previews.open();
      await supervisor.adopt();
      watchTimer = setInterval(() => {
        // The process that served this folder's previews may be gone: take over.
        void previews.retake();
        supervisor
          .watch()
          .catch((e: unknown) => logger.warn({ err: String(e) }, 'could not check the local apps'));
      }, config.watchIntervalMs);
      watchTimer.unref();
    })();
    started.catch(() => {
      started = undefined;
    });
    return started;
  }

  /** The refusal of code a model wrote, where no sandbox can be had. */
  function noSandboxError(report: SandboxReport): SpawnError {
    const reason = report.sandbox.kind === 'none' ? report.sandbox.reason : '';
    const elsewhere = options.alternatives?.length
      ? ` It can run on ${options.alternatives.join(' or ')}: ask again with \`--on ${options.alternatives[0]}\`.`
      : ' The operator can install bubblewrap, or connect Railway or Render, for apps like this one.';
    return new SpawnError(
      'ERR_SANDBOX_UNAVAILABLE',
      `apps written by a model run locally only in a sandbox, and there is none: ${reason}`,
      {
        userMessage: `This server runs apps written by Claude only in a sandbox, and it has none, so it will not run yours here.${elsewhere}`,
      },
    );
  }

  async function assertCanRun(origin: CodeOrigin): Promise<Runtime> {
    const prepared = await prepare();
    if (prepared.report.sandbox.kind === 'none' && origin !== 'template' && !options.allowUnsandboxed) {
      throw noSandboxError(prepared.report);
    }
    return prepared;
  }

  async function markStopped(paths: SessionPaths, state: LocalAppState): Promise<void> {
    await writeState(paths.stateFile, { ...state, pid: null, stoppedAt: new Date().toISOString() });
  }

  async function choosePort(previous: LocalAppState | undefined): Promise<number> {
    if (previous?.hostPort && (await portIsFree(previous.hostPort))) return previous.hostPort;
    return freePort();
  }

  async function deployLocked(request: DeployRequest, signal: AbortSignal): Promise<Deployment> {
    const { sessionId, buildId } = request;
    const paths = sessionPaths(appsDir, sessionId);
    const log = logger.child({ sessionId, buildId });
    if (signal.aborted) throw cancelledError(signal, 'the deploy');
    const { report, bridgeFile, prlimit, dataLimitMb } = await assertCanRun(request.origin ?? 'generated');
    await start();
    const sandbox = report.sandbox;

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
    await mkdir(paths.sessionDir, { recursive: true, mode: 0o755 });
    try {
      await rm(paths.nextDir, { recursive: true, force: true });
      await extractBundle(tarball, paths.nextDir);
      request.onProgress(`unpacked ${files.length} files`);
      if (running.has(sessionId) || (previous && (await isRunning(paths, previous)))) {
        request.onProgress('stopping the previous version');
      }
      await supervisor.stopSession(sessionId, paths, previous);
      await rm(paths.appDir, { recursive: true, force: true });
      await rename(paths.nextDir, paths.appDir);
      await rm(paths.runDir, { recursive: true, force: true });
      await mkdir(paths.runDir, { mode: 0o755 });
      if (sandbox.kind === 'bubblewrap' && sandbox.dropTo) {
        await chownTree(paths.appDir, sandbox.dropTo.uid, sandbox.dropTo.gid);
        await chownTree(paths.runDir, sandbox.dropTo.uid, sandbox.dropTo.gid);
      }
    } catch (e) {
      // A first deploy that failed before starting anything leaves nothing behind.
      if (!previous) await rm(paths.sessionDir, { recursive: true, force: true }).catch(() => undefined);
      throw toSpawnError(e, 'ERR_DEPLOY_FAILED');
    }

    const sandboxed = sandbox.kind === 'bubblewrap';
    const hostPort = sandboxed ? undefined : await choosePort(previous);
    await boundLog(paths.logFile, LOCAL_LOG_MAX_BYTES).catch(() => undefined);
    const how = sandboxed ? 'in its sandbox' : `without a sandbox, on port ${hostPort}`;
    await appendFile(
      paths.logFile,
      `--- ${new Date().toISOString()} build ${buildId}: node ${entry} ${how} ---\n`,
    );
    const logOffset = await logSize(paths.logFile);
    const cgroup =
      sandbox.kind === 'bubblewrap' && sandbox.cgroups
        ? await createAppCgroup(sandbox.cgroups, appCgroupName(sessionId), config.limits)
        : undefined;
    const spec = {
      appDir: paths.appDir,
      runDir: paths.runDir,
      bridgeFile,
      entry,
      limits: config.limits,
      nodePermissions,
      ...(cgroup ? { cgroup } : {}),
      ...(hostPort ? { hostPort } : {}),
      ...(dataLimitMb ? { dataLimitMb } : {}),
    };
    // Unsandboxed, the bridge finds its socket by the (short) path the service connects to.
    const launch =
      sandbox.kind === 'bubblewrap'
        ? sandboxedLaunch(sandbox, spec)
        : unsandboxedLaunch(prlimit, {
            ...spec,
            runDir: path.join(sockets, sessionId, 'run'),
          });
    request.onProgress(sandboxed ? `starting node ${entry} in its sandbox` : `starting node ${entry}`);
    const child = await startApp({
      sessionId,
      appDir: paths.appDir,
      launch,
      logFile: paths.logFile,
      sandboxed,
    }).catch(async (e: unknown) => {
      // Each run's groups have a name of their own (appCgroupName): no later run reuses these.
      if (cgroup) await removeCgroup(cgroup);
      throw e;
    });
    const app: RunningApp = {
      sessionId,
      paths,
      pid: child.pid,
      process: child,
      cgroup,
      logOffset,
      live: false,
      stopping: false,
      hit: undefined,
    };
    supervisor.add(app);
    const me = await thisProcess();
    const state: LocalAppState = {
      sessionId,
      buildId,
      pid: child.pid,
      url: urlOf(sessionId),
      sandbox: sandbox.kind,
      ...(hostPort ? { hostPort } : {}),
      ...(cgroup ? { cgroup } : {}),
      ownerPid: me.pid,
      ...(me.startedAt ? { ownerStartedAt: me.startedAt } : {}),
      startedAt: new Date().toISOString(),
    };
    try {
      await writeState(paths.stateFile, state);
    } catch (e) {
      // An app that no state file points at could outlive this process unnoticed.
      await supervisor.stopApp(app);
      throw new SpawnError('ERR_DEPLOY_FAILED', "could not record the app's state", { cause: e });
    }
    log.info({ pid: child.pid, entry, sandbox: sandbox.kind, hostPort }, 'app started');

    const socket = path.join(sockets, sessionId, 'run', PREVIEW_SOCKET);
    const outcome = await waitUntilListening(child, socket, config.startTimeoutMs, signal);
    if (outcome.kind === 'listening' && !app.hit) {
      app.live = true;
      request.onProgress('the app is listening');
      return { serviceId: `local-${sessionId}`, url: state.url };
    }
    const hit = app.hit ?? (await supervisor.limitOf(app, outcome.kind === 'exited'));
    await supervisor.stopApp(app);
    await markStopped(paths, state);
    if (outcome.kind === 'aborted') throw cancelledError(signal, 'the deploy');
    // Paths relative to the app folder: shorter, and the server's layout stays private.
    const lines = (await tailLog(paths.logFile, logOffset, LOG_LINES_IN_ERRORS)).map((line) =>
      line
        .replaceAll(`file://${paths.appDir}/`, '')
        .replaceAll(`${paths.appDir}/`, '')
        .replaceAll(`file://${INSIDE.app}/`, '')
        .replaceAll(`${INSIDE.app}/`, ''),
    );
    log.warn({ outcome: outcome.kind, limit: hit?.limit }, 'app did not start');
    let check: string;
    if (hit) check = `it was stopped: ${hit.reason}`;
    else if (outcome.kind === 'exited' && outcome.exit.code === CGROUP_JOIN_FAILED_EXIT && cgroup)
      check = 'its sandbox could not place it in its control groups';
    else if (outcome.kind === 'exited')
      check = `it ${describeExit(outcome.exit)} before it listened on its port`;
    else
      check = `it did not listen on its port (PORT) within ${Math.round(config.startTimeoutMs / 100) / 10} s`;
    // The app's own fault: starting it again would end the same way, so this is not retried.
    throw new SpawnError('ERR_DEPLOY_FAILED', withLog(`The app ${check.replace(/^it /, '')}.`, lines), {
      startup: { check, logTail: lines },
    });
  }

  return {
    name: 'local',

    start,

    assertCanRun: async (origin: CodeOrigin) => {
      await assertCanRun(origin);
    },

    sandboxReport: async () => (await prepare()).report,

    async notices() {
      const { report } = await prepare();
      if (report.sandbox.kind === 'none') {
        const claude = options.allowUnsandboxed
          ? 'apps written by Claude run anyway, unsandboxed, because LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX is set: they can reach everything this service can'
          : 'apps written by Claude will not run on this machine (the person is told where they can run); the offline builder’s own templates still do';
        return [`Local apps have no sandbox on this machine: ${report.sandbox.reason}. So ${claude}.`];
      }
      if (report.notEnforced.length === 0) return [];
      return [`The local app sandbox cannot enforce on this machine: ${report.notEnforced.join('; ')}.`];
    },

    previewPort: () => previews.port(),

    async deploy(request: DeployRequest): Promise<Deployment> {
      assertSessionId(request.sessionId);
      if (!HOST_LABEL.test(request.sessionId)) {
        throw new SpawnError('ERR_BAD_REQUEST', 'a local app needs a session id that is a DNS label');
      }
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

    async stopReason(sessionId: string) {
      assertSessionId(sessionId);
      await supervisor.settled(sessionId);
      const paths = sessionPaths(appsDir, sessionId);
      const state = await readState(paths.stateFile);
      if (!state?.stopReason || (await isRunning(paths, state))) return undefined;
      return state.stopReason;
    },

    async destroy(sessionId: string): Promise<void> {
      assertSessionId(sessionId);
      return serialize(sessionId, async () => {
        const paths = sessionPaths(appsDir, sessionId);
        await supervisor.stopSession(sessionId, paths, await readState(paths.stateFile));
        try {
          await rm(paths.sessionDir, { recursive: true, force: true });
        } catch (e) {
          throw new SpawnError('ERR_INTERNAL', "could not remove the app's folder", { cause: e });
        }
        logger.info({ sessionId }, 'app destroyed');
      });
    },

    async list(): Promise<ProviderService[]> {
      const services = await Promise.all(
        (await sessionIds(appsDir)).map(async (sessionId): Promise<ProviderService | undefined> => {
          const paths = sessionPaths(appsDir, sessionId);
          const state = await readState(paths.stateFile);
          if (!state) return undefined;
          return {
            serviceId: `local-${sessionId}`,
            sessionId,
            ...(state.url ? { url: state.url } : {}),
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
      clearInterval(watchTimer);
      await Promise.all([...locks.values()]);
      // Apps a dead process left behind are ours to end too: nothing outlives the service.
      await supervisor
        .adopt()
        .catch((e: unknown) => logger.warn({ err: String(e) }, 'could not look for orphaned apps'));
      await Promise.all(
        [...running.values()].map(async (app) => {
          await supervisor.stopApp(app);
          const state = await readState(app.paths.stateFile);
          if (state && state.pid === app.pid) await markStopped(app.paths, state);
        }),
      );
      await previews.close();
      logger.info('local provider closed');
    },
  };
}
