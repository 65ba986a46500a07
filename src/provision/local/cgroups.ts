import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { retry } from '../../lib/retry.js';
import { sleep } from '../../util/time.js';
import type { AppLimits } from './limits.js';

/** The controllers the sandbox limits an app with. */
export type Controller = 'memory' | 'pids' | 'cpu';
const CONTROLLERS: readonly Controller[] = ['memory', 'pids', 'cpu'];

/** CPU quotas are counted per period of this many microseconds (the kernel's default). */
const CPU_PERIOD_US = 100_000;
/** How long killing every process of a group may take before it is reported as stuck. */
const KILL_WAIT_MS = 3_000;

/**
 * Where apps' control groups go: under a folder of SpawnAI's own, per controller (cgroup v1)
 * or one folder for all (cgroup v2).
 */
export interface CgroupSupport {
  readonly version: 1 | 2;
  readonly parents: Readonly<Partial<Record<Controller, string>>>;
}

/** One app's control groups: a folder per controller (v1) or one folder (v2). */
export interface AppCgroup {
  readonly version: 1 | 2;
  readonly dirs: Readonly<Partial<Record<Controller, string>>>;
}

interface Mount {
  readonly point: string;
  readonly root: string;
  readonly type: string;
  readonly options: readonly string[];
}

async function mounts(): Promise<Mount[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [type, , superOptions] = right.split(' ');
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    out.push({
      point: fields[4] ?? '',
      root: fields[3] ?? '/',
      type,
      options: (superOptions ?? '').split(','),
    });
  }
  return out;
}

/** This process's own group in each hierarchy: "memory" -> "/process_api/abc", "" (v2) -> "/". */
async function ownGroups(): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  for (const line of (await readFile('/proc/self/cgroup', 'utf8')).split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    for (const controller of match[1]!.split(',')) groups.set(controller, match[2]!);
  }
  return groups;
}

function within(mount: Mount, group: string): string | undefined {
  if (mount.root === '/') return path.join(mount.point, group);
  if (group === mount.root || group.startsWith(`${mount.root}/`))
    return path.join(mount.point, group.slice(mount.root.length));
  return undefined;
}

async function writable(dir: string, probe: string): Promise<boolean> {
  const child = path.join(dir, probe);
  try {
    await mkdir(child, { recursive: true });
    await rmdir(child);
    return true;
  } catch {
    return false;
  }
}

async function detectV1(name: string, all: Mount[], own: Map<string, string>) {
  const parents: Partial<Record<Controller, string>> = {};
  for (const controller of CONTROLLERS) {
    const mount = all.find((m) => m.type === 'cgroup' && m.options.includes(controller));
    const group = own.get(controller);
    if (!mount || group === undefined) continue;
    const base = within(mount, group);
    if (!base || !existsSync(base)) continue;
    const parent = path.join(base, name);
    if (await writable(parent, `probe-${process.pid}`)) parents[controller] = parent;
  }
  return parents;
}

async function detectV2(name: string, all: Mount[]): Promise<string | undefined> {
  // A group of our own at the top of the hierarchy: its controllers come from the root's
  // subtree, and it holds no process, so it may hand them on to the apps' groups.
  const mount = all.find((m) => m.type === 'cgroup2' && m.root === '/');
  if (!mount) return undefined;
  let enabled: string[];
  try {
    enabled = (await readFile(path.join(mount.point, 'cgroup.subtree_control'), 'utf8')).trim().split(/\s+/);
  } catch {
    return undefined;
  }
  if (!enabled.includes('memory') || !enabled.includes('pids')) return undefined;
  const parent = path.join(mount.point, name);
  try {
    await mkdir(parent, { recursive: true });
    const wanted = CONTROLLERS.filter((c) => enabled.includes(c)).map((c) => `+${c}`);
    await writeFile(path.join(parent, 'cgroup.subtree_control'), wanted.join(' '));
  } catch {
    return undefined;
  }
  return (await writable(parent, `probe-${process.pid}`)) ? parent : undefined;
}

/**
 * Finds where this process may create control groups for its apps, under a folder `name`.
 * cgroup v1 (a controller per hierarchy): below this process's own group of each controller.
 * cgroup v2: a group at the top of the unified hierarchy. Usually only root may do either.
 *
 * @returns undefined when no group can be created with a memory and a pids controller.
 */
export async function detectCgroups(name: string): Promise<CgroupSupport | undefined> {
  if (process.platform !== 'linux') return undefined;
  let all: Mount[];
  let own: Map<string, string>;
  try {
    all = await mounts();
    own = await ownGroups();
  } catch {
    return undefined;
  }
  const v1 = await detectV1(name, all, own);
  if (v1.memory && v1.pids) return { version: 1, parents: v1 };
  const v2 = await detectV2(name, all);
  if (v2) return { version: 2, parents: { memory: v2, pids: v2, cpu: v2 } };
  return undefined;
}

async function put(dir: string, file: string, value: string, optional = false): Promise<void> {
  try {
    await writeFile(path.join(dir, file), value);
  } catch (e) {
    if (!optional) throw e;
  }
}

/**
 * The group of one run of a session's app. Each run has its own: the process that ran the
 * previous one (maybe another worker) removes that one's groups, killing what is in them,
 * when it sees it exit, which may be after the next run has started. A name shared by the
 * runs would have it kill the new app.
 */
export function appCgroupName(sessionId: string): string {
  return `${sessionId}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates the app's groups with its limits: memory (with swap, so it cannot move out of RAM),
 * processes and threads, CPU quota. Nothing is left behind when a step fails.
 */
export async function createAppCgroup(
  support: CgroupSupport,
  group: string,
  limits: AppLimits,
): Promise<AppCgroup> {
  const dirs: Partial<Record<Controller, string>> = {};
  for (const controller of CONTROLLERS) {
    const parent = support.parents[controller];
    if (parent) dirs[controller] = path.join(parent, group);
  }
  const cgroup: AppCgroup = { version: support.version, dirs };
  try {
    await setUpCgroup(cgroup, limits);
  } catch (e) {
    await removeCgroup(cgroup);
    throw e;
  }
  return cgroup;
}

async function setUpCgroup(cgroup: AppCgroup, limits: AppLimits): Promise<void> {
  const { dirs } = cgroup;
  for (const dir of new Set(Object.values(dirs))) await mkdir(dir, { recursive: true });
  const memory = String(limits.memoryMb * 1024 * 1024);
  const quota = String(Math.max(1000, Math.round((limits.cpuPercent / 100) * CPU_PERIOD_US)));
  if (cgroup.version === 1) {
    if (dirs.memory) {
      await put(dirs.memory, 'memory.limit_in_bytes', memory);
      // Only where the kernel accounts swap; it must not be below the memory limit.
      await put(dirs.memory, 'memory.memsw.limit_in_bytes', memory, true);
    }
    if (dirs.pids) await put(dirs.pids, 'pids.max', String(limits.processes));
    if (dirs.cpu) {
      await put(dirs.cpu, 'cpu.cfs_period_us', String(CPU_PERIOD_US), true);
      await put(dirs.cpu, 'cpu.cfs_quota_us', quota, true);
    }
  } else {
    const dir = dirs.memory!;
    await put(dir, 'memory.max', memory);
    await put(dir, 'memory.swap.max', '0', true);
    await put(dir, 'pids.max', String(limits.processes));
    await put(dir, 'cpu.max', `${quota} ${CPU_PERIOD_US}`, true);
  }
}

/** The files a process writes its pid to, to join every group of the app. */
export function procsFiles(cgroup: AppCgroup): string[] {
  return [...new Set(Object.values(cgroup.dirs))].map((dir) => path.join(dir, 'cgroup.procs'));
}

/** Every process in the app's groups. */
export async function cgroupPids(cgroup: AppCgroup): Promise<number[]> {
  const pids = new Set<number>();
  for (const file of procsFiles(cgroup)) {
    try {
      for (const line of (await readFile(file, 'utf8')).split('\n')) {
        const pid = Number(line);
        if (Number.isInteger(pid) && pid > 0) pids.add(pid);
      }
    } catch {
      // no such group (any more)
    }
  }
  return [...pids];
}

async function counter(file: string, key: string): Promise<number> {
  try {
    const text = await readFile(file, 'utf8');
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** What the kernel refused the app: processes it ended for memory, forks and threads it denied. */
export interface CgroupEvents {
  readonly oomKills: number;
  readonly processesRefused: number;
}

export async function cgroupEvents(cgroup: AppCgroup): Promise<CgroupEvents> {
  const { memory, pids } = cgroup.dirs;
  const oomFile = cgroup.version === 1 ? 'memory.oom_control' : 'memory.events';
  return {
    oomKills: memory ? await counter(path.join(memory, oomFile), 'oom_kill') : 0,
    processesRefused: pids ? await counter(path.join(pids, 'pids.events'), 'max') : 0,
  };
}

/**
 * SIGKILLs every process in the app's groups until none is left (a process may fork while
 * the list is read).
 *
 * @returns whether the groups are empty.
 */
export async function killCgroup(cgroup: AppCgroup): Promise<boolean> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (;;) {
    const pids = await cgroupPids(cgroup);
    if (pids.length === 0) return true;
    if (Date.now() > deadline) return false;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await sleep(20);
  }
}

/** How often a group that is still busy is tried again. */
const REMOVE_RETRY_MS = 25;

/**
 * Kills what is left in the app's groups and removes them. A group can refuse removal (EBUSY)
 * for a moment after its last process is killed: the kernel no longer lists a process that is
 * exiting, but counts it until it is gone (most likely how a CI run on a loaded machine left
 * the groups of a killed worker's five apps behind: the next worker removed them while the
 * apps, CPU-throttled, were still exiting). So a busy group is killed again and retried until
 * `waitMs` has passed, as container runtimes do.
 *
 * @returns whether every group is gone.
 */
export async function removeCgroup(cgroup: AppCgroup, waitMs = KILL_WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  const busy = new Error('a control group is still busy');
  let left = [...new Set(Object.values(cgroup.dirs))];
  let refused = false;
  try {
    await retry(
      async () => {
        await killCgroup(cgroup);
        const still: string[] = [];
        for (const dir of left) {
          try {
            await rmdir(dir);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            // ENOENT: gone already. Anything else but EBUSY will not pass by waiting.
            if (code === 'EBUSY') still.push(dir);
            else if (code !== 'ENOENT') refused = true;
          }
        }
        left = still;
        if (still.length > 0) throw busy;
      },
      {
        attempts: Math.ceil(waitMs / REMOVE_RETRY_MS) + 1,
        delay: (e) => (e === busy && Date.now() < deadline ? REMOVE_RETRY_MS : undefined),
      },
    );
  } catch {
    return false;
  }
  return !refused;
}
