import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { Header, type HeaderData, Pax } from 'tar';
import { SpawnError } from '../errors.js';

/** A file of a bundle: its path inside the app and its text (structurally the builders' `AppFile`). */
export interface BundleFile {
  readonly path: string;
  readonly content: string;
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Most files a bundle may hold. */
export const BUNDLE_MAX_FILES = 500;
/** Largest single file in a bundle, uncompressed. */
export const BUNDLE_MAX_FILE_BYTES = 1024 * 1024;
/** Largest sum of all files in a bundle, uncompressed. */
export const BUNDLE_MAX_TOTAL_BYTES = 10 * 1024 * 1024;
/** Longest path of a file inside a bundle, in characters. */
export const APP_PATH_MAX_CHARS = 200;

/** Every entry carries this mtime, so the same files always give the same bytes. */
const BUNDLE_MTIME = new Date('2000-01-01T00:00:00Z');
const BLOCK_BYTES = 512;
/** Headers, PAX records and padding per entry, counted when bounding decompression. */
const ENTRY_OVERHEAD_BYTES = 4 * BLOCK_BYTES;
/** Larger PAX records than this are not something our packer writes. */
const PAX_MAX_BYTES = 8 * 1024;
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Limits enforced when packing and unpacking a bundle. */
export interface BundleLimits {
  /** Most files (folders not counted). Default {@link BUNDLE_MAX_FILES}. */
  readonly maxFiles: number;
  /** Largest file in bytes. Default {@link BUNDLE_MAX_FILE_BYTES}. */
  readonly maxFileBytes: number;
  /** Largest sum of file sizes in bytes. Default {@link BUNDLE_MAX_TOTAL_BYTES}. */
  readonly maxTotalBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = Object.freeze({
  maxFiles: BUNDLE_MAX_FILES,
  maxFileBytes: BUNDLE_MAX_FILE_BYTES,
  maxTotalBytes: BUNDLE_MAX_TOTAL_BYTES,
});

export interface PackedBundle {
  /** gzipped tar of the files. */
  readonly tarball: Buffer;
  /** Hex sha256 of `tarball`. */
  readonly sha256: string;
  /** Length of `tarball`. */
  readonly bytes: number;
}

function invalid(message: string): SpawnError {
  return new SpawnError('ERR_BAD_REQUEST', `invalid app bundle: ${message}`);
}

/** A path as it may appear in a message: quoted, control characters escaped, shortened. */
function quote(p: string): string {
  const short = p.length > 80 ? `${p.slice(0, 77)}...` : p;
  return JSON.stringify(short);
}

/**
 * Checks that `p` is a safe relative path for a file of an app: forward slashes, no
 * absolute path or drive letter, no empty, `.` or `..` segment, no backslash or control
 * character, at most {@link APP_PATH_MAX_CHARS} characters.
 *
 * @throws SpawnError `ERR_BAD_REQUEST` naming the problem.
 */
export function validateAppPath(p: string): void {
  if (typeof p !== 'string' || p.length === 0) throw invalid('a file has an empty path');
  if (p.length > APP_PATH_MAX_CHARS) {
    throw invalid(`path ${quote(p)} is longer than ${APP_PATH_MAX_CHARS} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\u007f]/.test(p)) throw invalid(`path ${quote(p)} contains a control character`);
  if (p.includes('\\')) throw invalid(`path ${quote(p)} contains a backslash`);
  if (p.startsWith('/')) throw invalid(`path ${quote(p)} is absolute`);
  if (/^[A-Za-z]:/.test(p)) throw invalid(`path ${quote(p)} starts with a drive letter`);
  for (const segment of p.split('/')) {
    if (segment === '..') throw invalid(`path ${quote(p)} has a ".." segment`);
    if (segment === '.' || segment === '') throw invalid(`path ${quote(p)} has an empty or "." segment`);
  }
}

function resolveLimits(limits: Partial<BundleLimits> | undefined): BundleLimits {
  return { ...DEFAULT_BUNDLE_LIMITS, ...limits };
}

/** Tracks files while packing or unpacking, refusing duplicates, file/folder clashes and oversize. */
class BundleChecker {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();
  private totalBytes = 0;

  constructor(private readonly limits: BundleLimits) {}

  addFile(p: string, bytes: number): void {
    validateAppPath(p);
    if (this.files.has(p)) throw invalid(`path ${quote(p)} appears twice`);
    if (this.dirs.has(p)) throw invalid(`path ${quote(p)} is both a file and a folder`);
    if (this.files.size + 1 > this.limits.maxFiles) {
      throw invalid(`more than ${this.limits.maxFiles} files`);
    }
    if (bytes > this.limits.maxFileBytes) {
      throw invalid(`file ${quote(p)} is ${bytes} bytes; the limit is ${this.limits.maxFileBytes}`);
    }
    this.totalBytes += bytes;
    if (this.totalBytes > this.limits.maxTotalBytes) {
      throw invalid(`the files add up to more than ${this.limits.maxTotalBytes} bytes`);
    }
    this.addParents(p);
    this.files.add(p);
  }

  addDir(p: string): void {
    validateAppPath(p);
    if (this.files.has(p)) throw invalid(`path ${quote(p)} is both a file and a folder`);
    this.addParents(p);
    this.dirs.add(p);
  }

  private addParents(p: string): void {
    const segments = p.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (this.files.has(parent)) throw invalid(`path ${quote(parent)} is both a file and a folder`);
      this.dirs.add(parent);
    }
  }
}

function fileHeader(p: string, size: number): Buffer {
  const data: HeaderData = {
    path: p,
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    size,
    mtime: BUNDLE_MTIME,
    type: 'File',
  };
  const header = new Header(data);
  const block = Buffer.alloc(BLOCK_BYTES);
  const needPax = header.encode(block, 0);
  if (!needPax) return block;
  const pax = new Pax({ path: p, size, mtime: BUNDLE_MTIME, uid: 0, gid: 0, mode: 0o644 }).encode();
  return Buffer.concat([pax, block]);
}

function padding(size: number): Buffer {
  const rest = size % BLOCK_BYTES;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK_BYTES - rest);
}

/**
 * Packs app files into a gzipped tar. Deterministic: entries sorted by path, with a fixed
 * mtime, uid/gid 0 and mode 0644, so the same files always give the same sha256.
 *
 * @throws SpawnError `ERR_BAD_REQUEST` for an unsafe path, a duplicate, or a file over the limits.
 */
export async function packBundle(
  files: readonly BundleFile[],
  limits?: Partial<BundleLimits>,
): Promise<PackedBundle> {
  const checker = new BundleChecker(resolveLimits(limits));
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  for (const file of sorted) {
    const body = Buffer.from(file.content, 'utf8');
    checker.addFile(file.path, body.length);
    parts.push(fileHeader(file.path, body.length), body, padding(body.length));
  }
  parts.push(Buffer.alloc(2 * BLOCK_BYTES));
  const tarball = await gzipAsync(Buffer.concat(parts), { level: 9 });
  return {
    tarball,
    sha256: createHash('sha256').update(tarball).digest('hex'),
    bytes: tarball.length,
  };
}

interface BundleEntry {
  readonly path: string;
  /** Undefined for a folder. */
  readonly content?: Buffer;
}

async function decompress(tarball: Buffer, limits: BundleLimits): Promise<Buffer> {
  if (tarball.length < 2 || tarball[0] !== 0x1f || tarball[1] !== 0x8b) {
    throw invalid('not a gzipped tar');
  }
  const maxOutputLength = limits.maxTotalBytes + (limits.maxFiles + 16) * ENTRY_OVERHEAD_BYTES;
  try {
    return await gunzipAsync(tarball, { maxOutputLength });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw invalid(`it unpacks to more than ${maxOutputLength} bytes`);
    }
    throw new SpawnError('ERR_BAD_REQUEST', 'invalid app bundle: the gzip data is corrupt', { cause: e });
  }
}

/** Reads and checks every entry of an uncompressed tar. */
function readEntries(raw: Buffer, limits: BundleLimits): BundleEntry[] {
  const checker = new BundleChecker(limits);
  const entries: BundleEntry[] = [];
  let ex: HeaderData | undefined;
  let offset = 0;
  // A tar whose first byte is not printable is not one of ours (nor a tar at all).
  if (raw.length > 0 && raw[0] !== 0 && raw[0]! < 0x20) throw invalid('not a tar archive');
  while (offset + BLOCK_BYTES <= raw.length) {
    let header: Header;
    try {
      header = new Header(raw, offset, ex);
    } catch (e) {
      throw new SpawnError('ERR_BAD_REQUEST', 'invalid app bundle: a tar header is unreadable', { cause: e });
    }
    if (header.nullBlock) break;
    if (!header.cksumValid) throw invalid('a tar header has a wrong checksum');
    const size = header.size ?? 0;
    const bodyStart = offset + BLOCK_BYTES;
    const bodyEnd = bodyStart + size;
    if (size < 0 || bodyEnd > raw.length) throw invalid('the tar is truncated');
    const body = raw.subarray(bodyStart, bodyEnd);
    offset = bodyStart + Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES;
    const type = header.type;
    if (type === 'ExtendedHeader' || type === 'NextFileHasLongPath' || type === 'OldGnuLongPath') {
      if (size > PAX_MAX_BYTES) throw invalid('a tar extended header is too large');
      ex =
        type === 'ExtendedHeader'
          ? Pax.parse(body.toString('utf8'), ex)
          : { ...ex, path: body.toString('utf8').replace(/\0.*/s, '') };
      continue;
    }
    ex = undefined;
    // `tar -czf x.tgz .` writes "./a.txt" and a "./" entry: accept that spelling of a relative path.
    const entryPath = (header.path ?? '').replace(/^(\.\/)+/, '');
    if (entryPath === '' && type === 'Directory') continue;
    if (FILE_TYPES.has(type)) {
      checker.addFile(entryPath, size);
      entries.push({ path: entryPath, content: Buffer.from(body) });
    } else if (type === 'Directory') {
      const dirPath = entryPath.endsWith('/') ? entryPath.slice(0, -1) : entryPath;
      checker.addDir(dirPath);
      entries.push({ path: dirPath });
    } else {
      throw invalid(`entry ${quote(entryPath)} is a ${type}; only regular files and folders are allowed`);
    }
  }
  if (ex !== undefined) throw invalid('the tar ends with an extended header');
  return entries;
}

async function readBundle(tarball: Buffer, limits?: Partial<BundleLimits>): Promise<BundleEntry[]> {
  const resolved = resolveLimits(limits);
  return readEntries(await decompress(tarball, resolved), resolved);
}

/**
 * Unpacks a bundle made by {@link packBundle} (or any gzipped tar of plain files) into memory.
 * Refuses absolute paths, `..` segments, links, devices, non-UTF-8 files and anything over
 * the limits (defaults: {@link DEFAULT_BUNDLE_LIMITS}).
 *
 * @throws SpawnError `ERR_BAD_REQUEST` naming the problem.
 */
export async function unpackBundle(tarball: Buffer, limits?: Partial<BundleLimits>): Promise<BundleFile[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const files: BundleFile[] = [];
  for (const entry of await readBundle(tarball, limits)) {
    if (entry.content === undefined) continue;
    let content: string;
    try {
      content = decoder.decode(entry.content);
    } catch {
      throw invalid(`file ${quote(entry.path)} is not UTF-8 text`);
    }
    files.push({ path: entry.path, content });
  }
  return files;
}

/**
 * Writes a bundle's files under `dir`, which must be missing or empty. Every entry is
 * checked (as in {@link unpackBundle}) before anything is written; files get mode 0644 and
 * folders 0755 whatever the tar says, and no file is written through an existing link.
 *
 * @throws SpawnError `ERR_BAD_REQUEST` for a hostile or oversized bundle, `ERR_INTERNAL` when
 * `dir` is not empty.
 */
export async function extractBundle(
  tarball: Buffer,
  dir: string,
  limits?: Partial<BundleLimits>,
): Promise<void> {
  const entries = await readBundle(tarball, limits);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if ((await readdir(dir)).length > 0) {
    throw new SpawnError('ERR_INTERNAL', 'extractBundle needs an empty folder');
  }
  const root = path.resolve(dir);
  for (const entry of entries) {
    const target = path.join(root, ...entry.path.split('/'));
    if (entry.content === undefined) {
      await mkdir(target, { recursive: true, mode: 0o755 });
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    // O_EXCL: never follow or overwrite something already there.
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
    await writeFile(target, entry.content, { flag: flags, mode: 0o644 });
  }
}
