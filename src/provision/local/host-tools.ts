import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Longest wait for a helper program (`ldd`, `bwrap --help`, a probe) before it counts as failed. */
const TOOL_TIMEOUT_MS = 10_000;

/** The absolute path of `name` (a program on PATH, or a path), or undefined when it cannot be run. */
export async function findProgram(name: string): Promise<string | undefined> {
  if (name.includes('/')) {
    try {
      await access(name, constants.X_OK);
      return path.resolve(name);
    } catch {
      return undefined;
    }
  }
  try {
    const { stdout } = await run('sh', ['-c', 'command -v "$1"', 'sh', name], { timeout: TOOL_TIMEOUT_MS });
    const found = stdout.trim();
    return found.startsWith('/') ? found : undefined;
  } catch {
    return undefined;
  }
}

/** What a program prints for `args` (stdout and stderr), or undefined when it fails to run. */
export async function programOutput(program: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(program, args, { timeout: TOOL_TIMEOUT_MS });
    return `${stdout}${stderr}`;
  } catch (e) {
    const out = e as { stdout?: string; stderr?: string };
    return out.stdout || out.stderr ? `${out.stdout ?? ''}${out.stderr ?? ''}` : undefined;
  }
}

/** Folders that hold the shared libraries of most Linux systems: mounted whole when `ldd` is missing. */
const LIBRARY_DIRS = ['/lib', '/lib64', '/usr/lib', '/usr/lib64'];

/**
 * The shared libraries the Node binary loads (its ELF interpreter included), so the sandbox
 * mounts exactly those. Without `ldd`, the usual library folders.
 */
export async function runtimeLibraries(nodePath: string): Promise<string[]> {
  const out = await programOutput('ldd', [nodePath]);
  const libs = new Set<string>();
  for (const line of (out ?? '').split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (match?.[1] && existsSync(match[1])) libs.add(match[1]);
  }
  if (libs.size > 0) return [...libs];
  return LIBRARY_DIRS.filter((dir) => existsSync(dir));
}

/**
 * Whether a user that owns none of them (such as `nobody`) can reach `file`: every folder on
 * the way lets others search it, and the file lets others read (and, with `execute`, run) it.
 */
export async function reachableByOthers(file: string, execute = false): Promise<boolean> {
  try {
    const target = await stat(file);
    const need = execute ? 0o005 : 0o004;
    if ((target.mode & need) !== need && !target.isDirectory()) return false;
    if (target.isDirectory() && (target.mode & 0o001) === 0) return false;
    let dir = path.dirname(path.resolve(file));
    for (;;) {
      if (((await stat(dir)).mode & 0o001) === 0) return false;
      const parent = path.dirname(dir);
      if (parent === dir) return true;
      dir = parent;
    }
  } catch {
    return false;
  }
}

/** Room for what an app's own code loads at start, above a bare Node. */
const DATA_SLACK_MB = 16;

/**
 * The data segment a bare Node reserves at start with this heap limit, in MiB (Node 20: about
 * 50; Node 26: about 560, most of it reserved and never touched). An RLIMIT_DATA of this plus
 * the app's memory bounds what the app itself can allocate, on any Node version.
 *
 * @returns undefined where /proc is missing or the probe fails.
 */
export async function nodeDataBaselineMb(nodePath: string, heapMb: number): Promise<number | undefined> {
  const script =
    "const m = /VmData:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8')); console.log(m ? m[1] : '')";
  const out = await programOutput(nodePath, [`--max-old-space-size=${heapMb}`, '-e', script]);
  const kb = Number(out?.trim());
  return Number.isFinite(kb) && kb > 0 ? Math.ceil(kb / 1024) + DATA_SLACK_MB : undefined;
}
