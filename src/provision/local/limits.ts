import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** What one local app may use. Reaching a limit ends that app only, with a reason its card shows. */
export interface AppLimits {
  /** Memory of the whole app in MiB: every process, V8's heap, Buffers, its /tmp. */
  readonly memoryMb: number;
  /** Largest file the app may write, in MiB. */
  readonly fileMb: number;
  /** Size of the app's folder, in MiB. */
  readonly diskMb: number;
  /** Files and folders in the app's folder. */
  readonly files: number;
  /** Processes and threads, the sandbox's own included. */
  readonly processes: number;
  /** CPU time, in percent of one core. */
  readonly cpuPercent: number;
}

export const DEFAULT_APP_LIMITS: AppLimits = Object.freeze({
  memoryMb: 256,
  fileMb: 20,
  diskMb: 100,
  files: 5000,
  processes: 64,
  cpuPercent: 50,
});

/** Which limit ended an app. */
export type LimitKind = 'memory' | 'file-size' | 'disk' | 'files' | 'processes';

export interface LimitHit {
  readonly limit: LimitKind;
  /** Plain words for the person's card: "it used more than 256 MB of memory". */
  readonly reason: string;
}

/**
 * V8's heap gets three quarters of the app's memory: it collects garbage (or fails with a
 * JavaScript error) before the kernel has to end the whole app.
 */
export function heapMb(memoryMb: number): number {
  return Math.max(16, Math.floor(memoryMb * 0.75));
}

export function limitHit(limit: LimitKind, limits: AppLimits): LimitHit {
  switch (limit) {
    case 'memory':
      return { limit, reason: `it used more than ${limits.memoryMb} MB of memory` };
    case 'file-size':
      return { limit, reason: `it wrote a file of ${limits.fileMb} MB, the largest an app may write` };
    case 'disk':
      return { limit, reason: `its folder grew past ${limits.diskMb} MB` };
    case 'files':
      return { limit, reason: `it created more than ${limits.files} files` };
    case 'processes':
      return { limit, reason: `it tried to run more than ${limits.processes} processes and threads` };
  }
}

/**
 * Lines an app's own log holds when V8 or a Buffer ran out of the memory it was given. Each
 * Node line words it its own way: V8's heap ("JavaScript heap out of memory"), a Buffer on Node
 * 20-24 ("Array buffer allocation failed"), a Buffer on Node 26 ("RangeError: Failed to
 * allocate memory", code ERR_MEMORY_ALLOCATION_FAILED), V8 itself ("Fatal process out of
 * memory") and C++ code under Node (std::bad_alloc).
 */
const OUT_OF_MEMORY =
  /JavaScript heap out of memory|Array buffer allocation failed|[Aa]llocation failed - |Failed to allocate memory|ERR_MEMORY_ALLOCATION_FAILED|Fatal process out of memory|std::bad_alloc/;

export function logShowsOutOfMemory(lines: readonly string[]): boolean {
  return lines.some((line) => OUT_OF_MEMORY.test(line));
}

export interface FolderUsage {
  readonly bytes: number;
  readonly entries: number;
  readonly largestFile: number;
}

/**
 * Disk used by the folders (allocated blocks, so sparse files count for what they take), the
 * number of entries, and the largest file's size. Stops counting once `maxEntries` is passed.
 */
export async function folderUsage(dirs: readonly string[], maxEntries: number): Promise<FolderUsage> {
  let bytes = 0;
  let entries = 0;
  let largestFile = 0;
  const pending = [...dirs];
  while (pending.length > 0 && entries <= maxEntries) {
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      try {
        const stat = await lstat(full);
        entries += 1;
        bytes += stat.blocks * 512;
        if (stat.isDirectory()) pending.push(full);
        else if (stat.isFile()) largestFile = Math.max(largestFile, stat.size);
      } catch {
        // removed meanwhile
      }
      if (entries > maxEntries) break;
    }
  }
  return { bytes, entries, largestFile };
}

/** The limit the folders' usage goes past, if any. */
export function folderLimitHit(usage: FolderUsage, limits: AppLimits): LimitHit | undefined {
  const mib = 1024 * 1024;
  // The kernel refuses to write past fileMb: a file that reached it is a write that failed.
  if (usage.largestFile >= limits.fileMb * mib) return limitHit('file-size', limits);
  if (usage.bytes > limits.diskMb * mib) return limitHit('disk', limits);
  if (usage.entries > limits.files) return limitHit('files', limits);
  return undefined;
}
