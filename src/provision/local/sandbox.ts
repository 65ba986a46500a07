import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type AppCgroup, type CgroupSupport, detectCgroups, procsFiles } from './cgroups.js';
import { findProgram, programOutput, reachableByOthers, runtimeLibraries } from './host-tools.js';
import { type AppLimits, heapMb } from './limits.js';
import { BRIDGE_SOCKET_VAR, PREVIEW_SOCKET } from './preview-bridge.js';

/** Where things are inside the sandbox. The host's layout never shows in an app's errors. */
export const INSIDE = Object.freeze({
  app: '/app',
  run: '/run/spawnai',
  node: '/spawnai/node',
  bridge: '/spawnai/preview-bridge.cjs',
});
/** Every sandboxed app listens on this port in its own network namespace. */
export const SANDBOX_APP_PORT = 8080;
/** The host user sandboxes run as when SpawnAI runs as root: `nobody`, which owns nothing. */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;
/** Size of the app's private /tmp (memory, counted against its memory limit). */
const TMP_BYTES = 16 * 1024 * 1024;
/** Open files per process. */
const OPEN_FILES = 1024;
/** Exit code of the launcher when the app could not join its control groups. */
export const CGROUP_JOIN_FAILED_EXIT = 70;
/** Longest the sandbox probe may take. */
const PROBE_TIMEOUT_MS = 15_000;

export const HOW_TO_GET_A_SANDBOX =
  'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) on Linux';

export interface SandboxOptions {
  /** The bubblewrap program: a path, or a name looked up on PATH. Default `bwrap`. */
  readonly bwrap?: string;
  /** Limit apps with control groups where this process may create them. Default true. */
  readonly cgroups?: boolean;
}

/** No sandbox could be had: why, in words an operator can act on. */
export interface NoSandbox {
  readonly kind: 'none';
  readonly reason: string;
}

export interface Bubblewrap {
  readonly kind: 'bubblewrap';
  readonly bwrap: string;
  /** Options this bubblewrap knows (older releases lack some). */
  readonly features: { readonly disableUserns: boolean; readonly tmpfsSize: boolean };
  /** SpawnAI runs as root: sandboxes are handed to `nobody` through util-linux `setpriv`. */
  readonly dropTo: { readonly uid: number; readonly gid: number; readonly setpriv: string } | undefined;
  /**
   * SpawnAI runs as root and could not hand the sandbox over (no setpriv, or `nobody` cannot
   * reach DATA_DIR or the Node binary): the app's user is root outside, without capabilities.
   */
  readonly rootOutside: boolean;
  readonly prlimit: string | undefined;
  readonly cgroups: CgroupSupport | undefined;
  readonly libs: readonly string[];
}

export type Sandbox = Bubblewrap | NoSandbox;

/** What the sandbox enforces on this machine, and what it could not, in plain words. */
export interface SandboxReport {
  readonly sandbox: Sandbox;
  readonly enforced: readonly string[];
  readonly notEnforced: readonly string[];
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Folder name of this data folder's control groups: stable across restarts, distinct per DATA_DIR. */
export function cgroupFolderName(appsDir: string): string {
  return `spawnai-${createHash('sha256').update(appsDir).digest('hex').slice(0, 12)}`;
}

function baseBwrapArgs(sandbox: Omit<Bubblewrap, 'kind'>): string[] {
  const args = [
    '--unshare-all',
    '--unshare-user',
    ...(sandbox.features.disableUserns ? ['--disable-userns'] : []),
    '--die-with-parent',
    '--new-session',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_GID),
    '--hostname',
    'spawnai-app',
    ...(sandbox.rootOutside ? ['--cap-drop', 'ALL'] : []),
    '--clearenv',
  ];
  for (const lib of sandbox.libs) args.push('--ro-bind', lib, lib);
  args.push('--proc', '/proc', '--dev', '/dev');
  if (sandbox.features.tmpfsSize) args.push('--size', String(TMP_BYTES));
  args.push('--tmpfs', '/tmp');
  return args;
}

/** The command that runs `argv` inside bubblewrap as the sandbox's host user, with rlimits. */
function wrap(sandbox: Omit<Bubblewrap, 'kind'>, rlimits: readonly string[], bwrapArgs: string[]): string[] {
  const out: string[] = [];
  if (sandbox.dropTo) {
    out.push(
      sandbox.dropTo.setpriv,
      `--reuid=${sandbox.dropTo.uid}`,
      `--regid=${sandbox.dropTo.gid}`,
      '--clear-groups',
      '--no-new-privs',
    );
  }
  if (sandbox.prlimit && rlimits.length > 0) out.push(sandbox.prlimit, ...rlimits, '--');
  out.push(sandbox.bwrap, ...bwrapArgs);
  return out;
}

/** `dir`, or the nearest folder above it that exists (the apps folder is made with mode 0755). */
function nearestExisting(dir: string): string {
  let current = path.resolve(dir);
  while (!existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

/** Runs `node -e 0` in a sandbox built as apps' are: proves namespaces, libraries and the user work. */
async function probe(sandbox: Omit<Bubblewrap, 'kind'>): Promise<string | undefined> {
  const argv = wrap(
    sandbox,
    [],
    [
      ...baseBwrapArgs(sandbox),
      '--ro-bind',
      process.execPath,
      INSIDE.node,
      '--',
      INSIDE.node,
      '-e',
      'process.exit(0)',
    ],
  );
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: {} });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve(e.message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(undefined);
      else resolve(stderr.trim().split('\n')[0] || `it exited with ${signal ?? `code ${code}`}`);
    });
  });
}

/**
 * Finds out which sandbox this machine can give local apps: bubblewrap (user, network, PID,
 * IPC, mount, UTS and cgroup namespaces; no capabilities; no new privileges), limited by
 * control groups where this process may create them and by rlimits otherwise. Runs one probe
 * sandbox, so the answer is what works, not what is installed.
 */
export async function detectSandbox(appsDir: string, options: SandboxOptions = {}): Promise<SandboxReport> {
  const none = (reason: string): SandboxReport => ({
    sandbox: { kind: 'none', reason },
    enforced: [],
    notEnforced: [],
  });
  if (process.platform !== 'linux') {
    return none(`local apps can be sandboxed only on Linux (this is ${process.platform})`);
  }
  // Each of these starts a program: side by side, they cost one wait instead of six.
  const [bwrap, prlimit, setpriv, libs, cgroups] = await Promise.all([
    findProgram(options.bwrap ?? 'bwrap'),
    findProgram('prlimit'),
    isRoot() ? findProgram('setpriv') : Promise.resolve(undefined),
    runtimeLibraries(process.execPath),
    options.cgroups === false ? Promise.resolve(undefined) : detectCgroups(cgroupFolderName(appsDir)),
  ]);
  if (!bwrap)
    return none(`bubblewrap (${options.bwrap ?? 'bwrap'}) is not installed: ${HOW_TO_GET_A_SANDBOX}`);
  const help = (await programOutput(bwrap, ['--help'])) ?? '';
  let dropTo: Bubblewrap['dropTo'];
  let rootOutside = false;
  if (isRoot()) {
    const reachable =
      (await reachableByOthers(nearestExisting(appsDir))) &&
      (await reachableByOthers(process.execPath, true));
    if (setpriv && reachable) dropTo = { uid: SANDBOX_UID, gid: SANDBOX_GID, setpriv };
    else rootOutside = true;
  }
  const setup: Omit<Bubblewrap, 'kind'> = {
    bwrap,
    features: { disableUserns: help.includes('--disable-userns'), tmpfsSize: help.includes('--size') },
    dropTo,
    rootOutside,
    prlimit,
    cgroups,
    libs,
  };
  const failure = await probe(setup);
  if (failure) {
    return none(
      `bubblewrap could not start a sandbox (${failure}); unprivileged user namespaces may be off ` +
        '(sysctl kernel.unprivileged_userns_clone=1, or an AppArmor profile for bwrap on Ubuntu 24.04+)',
    );
  }
  const sandbox: Bubblewrap = { kind: 'bubblewrap', ...setup };
  return { sandbox, ...describe(sandbox) };
}

function describe(sandbox: Bubblewrap): { enforced: string[]; notEnforced: string[] } {
  const enforced = [
    'own user, network, PID, IPC and mount namespaces (bubblewrap), no capabilities',
    'only the Node runtime (read-only) and its own folder visible',
    'no network route to this machine or beyond',
  ];
  const notEnforced: string[] = [];
  if (sandbox.dropTo) enforced.push('runs as the host user nobody');
  if (sandbox.rootOutside) {
    notEnforced.push(
      'apps run as root outside their namespaces (without capabilities): give `nobody` access to DATA_DIR ' +
        'and the Node binary (chmod o+x on their folders) and install util-linux setpriv',
    );
  }
  const groups = sandbox.cgroups;
  if (groups) {
    enforced.push(`memory of the whole app, processes and threads (cgroup v${groups.version})`);
    if (groups.parents.cpu) enforced.push('CPU quota');
    else notEnforced.push('CPU quota (no cpu controller)');
  } else {
    const perProcess = sandbox.prlimit ? ' (RLIMIT_DATA caps each process)' : '';
    notEnforced.push(
      `the whole app's memory is only checked every few seconds${perProcess}, and processes and CPU are not limited: ` +
        'that needs control groups, which only root (or a delegated cgroup) can create',
    );
  }
  if (sandbox.prlimit) enforced.push('file size (RLIMIT_FSIZE)');
  else
    notEnforced.push('file size per write (util-linux prlimit is missing); the folder size is still checked');
  enforced.push('folder size and file count (checked every few seconds)');
  return { enforced, notEnforced };
}

/** What runs an app: the command, its arguments, its environment. */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface LaunchSpec {
  /** Host paths. */
  readonly appDir: string;
  readonly runDir: string;
  readonly bridgeFile: string;
  /** The start file, relative to the app folder. */
  readonly entry: string;
  readonly limits: AppLimits;
  /** Node's permission model as an inner layer. */
  readonly nodePermissions: boolean;
  /** Set for unsandboxed apps, which share the host's network: the port to listen on. */
  readonly hostPort?: number;
  /**
   * Without a memory control group: the data segment each process may have (RLIMIT_DATA), in
   * MiB, a bare Node's plus the app's memory (see nodeDataBaselineMb).
   */
  readonly dataLimitMb?: number;
  readonly cgroup?: AppCgroup;
}

const FLAGS = process.allowedNodeEnvironmentFlags;
/** Node 20 calls it `--experimental-permission`; later versions have `--permission`. */
const PERMISSION_FLAG = FLAGS.has('--permission') ? '--permission' : '--experimental-permission';
/** From Node 25 the permission model covers the network too; without this no app can listen. */
const NET_FLAGS = FLAGS.has('--allow-net') ? ['--allow-net'] : [];
const QUIET_FLAGS = FLAGS.has('--disable-warning') ? ['--disable-warning=ExperimentalWarning'] : [];

/**
 * Node's arguments for an app: the permission model limited to the app's folder (no child
 * processes, workers or addons) unless `permissions` is false, a heap limit, the preview
 * bridge, then the start file.
 */
export function nodeArgs(
  where: { readonly appDir: string; readonly runDir: string; readonly bridge: string },
  entry: string,
  heap: number,
  permissions: boolean,
): string[] {
  const inner = permissions
    ? [
        PERMISSION_FLAG,
        `--allow-fs-read=${where.appDir}`,
        `--allow-fs-read=${where.bridge}`,
        `--allow-fs-write=${where.appDir}`,
        `--allow-fs-write=${where.runDir}`,
        ...NET_FLAGS,
      ]
    : [];
  return [
    ...inner,
    `--max-old-space-size=${heap}`,
    ...QUIET_FLAGS,
    '--require',
    where.bridge,
    path.join(where.appDir, ...entry.split('/')),
  ];
}

function rlimits(limits: AppLimits, dataLimitMb: number | undefined): string[] {
  const mib = 1024 * 1024;
  const out = [`--fsize=${limits.fileMb * mib}`, `--nofile=${OPEN_FILES}`];
  // Without a memory cgroup, each process's data segment (heap, Buffers) is capped instead.
  if (dataLimitMb) out.push(`--data=${dataLimitMb * mib}`);
  return out;
}

/**
 * The app in bubblewrap: the launcher shell joins the app's control groups while still
 * privileged, hands over to `nobody` (root) and to prlimit, then bubblewrap sets up the
 * namespaces and runs Node. Only the Node binary, its libraries, the bridge (read-only), the
 * app's folder and its run folder (read-write) are mounted.
 */
export function sandboxedLaunch(sandbox: Bubblewrap, spec: LaunchSpec): Launch {
  const bwrapArgs = [
    ...baseBwrapArgs(sandbox),
    '--ro-bind',
    process.execPath,
    INSIDE.node,
    '--ro-bind',
    spec.bridgeFile,
    INSIDE.bridge,
    '--bind',
    spec.appDir,
    INSIDE.app,
    '--bind',
    spec.runDir,
    INSIDE.run,
    '--chdir',
    INSIDE.app,
    '--setenv',
    'PORT',
    String(SANDBOX_APP_PORT),
    '--setenv',
    'NODE_ENV',
    'production',
    '--setenv',
    BRIDGE_SOCKET_VAR,
    `${INSIDE.run}/${PREVIEW_SOCKET}`,
    '--',
    INSIDE.node,
    ...nodeArgs(
      { appDir: INSIDE.app, runDir: INSIDE.run, bridge: INSIDE.bridge },
      spec.entry,
      heapMb(spec.limits.memoryMb),
      spec.nodePermissions,
    ),
  ];
  const argv = wrap(
    sandbox,
    rlimits(spec.limits, spec.cgroup?.dirs.memory ? undefined : spec.dataLimitMb),
    bwrapArgs,
  );
  const files = spec.cgroup ? procsFiles(spec.cgroup) : [];
  if (files.length === 0) return { command: argv[0]!, args: argv.slice(1), env: {} };
  const join = `for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit ${CGROUP_JOIN_FAILED_EXIT}; shift; done; shift; exec "$@"`;
  return { command: '/bin/sh', args: ['-c', join, 'spawnai-sandbox', ...files, '--', ...argv], env: {} };
}

/**
 * No sandbox: Node's permission model is the only layer, the app shares the host's network
 * (it listens on `hostPort`), and only rlimits bound it. For the offline builder's own
 * templates, or when the operator opted out of the sandbox.
 */
export function unsandboxedLaunch(prlimit: string | undefined, spec: LaunchSpec): Launch {
  const node = [
    process.execPath,
    ...nodeArgs(
      { appDir: spec.appDir, runDir: spec.runDir, bridge: spec.bridgeFile },
      spec.entry,
      heapMb(spec.limits.memoryMb),
      spec.nodePermissions,
    ),
  ];
  const argv = prlimit ? [prlimit, ...rlimits(spec.limits, spec.dataLimitMb), '--', ...node] : node;
  return {
    command: argv[0]!,
    args: argv.slice(1),
    env: {
      PORT: String(spec.hostPort),
      NODE_ENV: 'production',
      [BRIDGE_SOCKET_VAR]: path.join(spec.runDir, PREVIEW_SOCKET),
    },
  };
}
