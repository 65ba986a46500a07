import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData, Pax, create as tarCreate, list as tarList } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppFile } from '../../../src/builder/types.js';
import { isSpawnError } from '../../../src/errors.js';
import { extractBundle, packBundle, unpackBundle, validateAppPath } from '../../../src/lib/bundle-codec.js';

const FILES: AppFile[] = [
  { path: 'package.json', content: '{"scripts":{"start":"node server.js"}}\n' },
  { path: 'server.js', content: 'console.log("hi")\n' },
  { path: 'public/index.html', content: '<h1>Hello ✓</h1>\n' },
];

/** One raw tar entry: header (plus optional PAX record before it) and padded body. */
function entry(data: HeaderData, body = Buffer.alloc(0), pax?: HeaderData): Buffer {
  const block = Buffer.alloc(512);
  new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: body.length, ...data }).encode(block);
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([pax ? new Pax(pax).encode() : Buffer.alloc(0), block, padded]);
}

function gnuLongPath(p: string): Buffer {
  const body = Buffer.from(`${p}\0`);
  return entry({ path: '././@LongLink', type: 'NextFileHasLongPath', size: body.length }, body);
}

function tarball(...entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

function file(p: string, content: string): Buffer {
  return entry({ path: p, type: 'File' }, Buffer.from(content));
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    expect(isSpawnError(e)).toBe(true);
    if (isSpawnError(e)) {
      expect(e.code).toBe('ERR_BAD_REQUEST');
      return e.message;
    }
  }
  throw new Error('expected the bundle to be refused');
}

describe('validateAppPath', () => {
  it.each(['server.js', 'public/index.html', 'a/b/c/d.txt', '.env.example', 'src/..hidden', 'café/ü.txt'])(
    'accepts %j',
    (p) => {
      expect(() => validateAppPath(p)).not.toThrow();
    },
  );

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /"\.\."/],
    ['a/../../x', /"\.\."/],
    ['a/..', /"\.\."/],
    ['./a', /"\."/],
    ['a//b', /empty/],
    ['a/', /empty/],
    ['a\\b', /backslash/],
    ['C:/x', /drive letter/],
    ['a\u0000b', /control/],
    ['a\nb', /control/],
    ['x'.repeat(201), /longer than 200/],
  ])('refuses %j', (p, reason) => {
    expect(() => validateAppPath(p)).toThrow(reason);
  });
});

describe('packBundle', () => {
  it('is deterministic: the same files in any order give the same bytes and sha256', async () => {
    const a = await packBundle(FILES);
    const b = await packBundle([...FILES].reverse());
    expect(b.sha256).toBe(a.sha256);
    expect(b.tarball.equals(a.tarball)).toBe(true);
    expect(a.sha256).toBe(createHash('sha256').update(a.tarball).digest('hex'));
    expect(a.bytes).toBe(a.tarball.length);
    const c = await packBundle([...FILES, { path: 'extra.txt', content: '' }]);
    expect(c.sha256).not.toBe(a.sha256);
  });

  it('writes sorted entries with a fixed mtime, owner and mode that other tar readers accept', async () => {
    const { tarball: tgz } = await packBundle(FILES);
    const seen: { path: string; mode?: number; uid?: number; mtime?: Date }[] = [];
    const parser = tarList({
      onReadEntry: (e) => seen.push({ path: e.path, mode: e.mode, uid: e.uid, mtime: e.mtime }),
    });
    await new Promise<void>((resolve, reject) => {
      parser.on('end', resolve);
      parser.on('error', reject);
      parser.end(tgz);
    });
    expect(seen.map((e) => e.path)).toEqual(['package.json', 'public/index.html', 'server.js']);
    for (const e of seen) {
      expect(e.mode).toBe(0o644);
      expect(e.uid).toBe(0);
      expect(e.mtime?.toISOString()).toBe('2000-01-01T00:00:00.000Z');
    }
  });

  it('refuses unsafe paths, duplicates and file/folder clashes', async () => {
    expect(await refusal(packBundle([{ path: '../x', content: '' }]))).toMatch(/"\.\."/);
    expect(await refusal(packBundle([{ path: '/x', content: '' }]))).toMatch(/absolute/);
    expect(
      await refusal(
        packBundle([
          { path: 'a.txt', content: '1' },
          { path: 'a.txt', content: '2' },
        ]),
      ),
    ).toMatch(/twice/);
    expect(
      await refusal(
        packBundle([
          { path: 'a', content: '1' },
          { path: 'a/b', content: '2' },
        ]),
      ),
    ).toMatch(/both a file and a folder/);
  });

  it('refuses files over the limits', async () => {
    const big = { path: 'big.txt', content: 'x'.repeat(2000) };
    expect(await refusal(packBundle([big], { maxFileBytes: 1000 }))).toMatch(/big\.txt.*2000 bytes/);
    expect(await refusal(packBundle(FILES, { maxFiles: 2 }))).toMatch(/more than 2 files/);
  });
});

describe('unpackBundle', () => {
  it('round-trips files, including long and non-ASCII paths', async () => {
    const long = `${'deep/'.repeat(30)}file.txt`; // 158 characters: past the 100 of a plain header
    const files = [...FILES, { path: long, content: 'far down' }, { path: 'empty.txt', content: '' }];
    const { tarball: tgz } = await packBundle(files);
    const back = await unpackBundle(tgz);
    const byPath = (a: AppFile, b: AppFile) => a.path.localeCompare(b.path);
    expect([...back].sort(byPath)).toEqual([...files].sort(byPath));
  });

  it('accepts the "./" paths and folder entries that tar writes', async () => {
    const tgz = tarball(
      entry({ path: './', type: 'Directory' }),
      entry({ path: './lib/', type: 'Directory' }),
      file('./lib/a.js', 'a'),
    );
    expect(await unpackBundle(tgz)).toEqual([{ path: 'lib/a.js', content: 'a' }]);
  });

  it.each([
    ['an absolute path', () => tarball(file('/etc/evil', 'x')), /absolute/],
    ['a ".." segment', () => tarball(file('../evil.txt', 'x')), /"\.\."/],
    ['a ".." in the middle', () => tarball(file('a/../../evil.txt', 'x')), /"\.\."/],
    ['a ".." hidden behind "./"', () => tarball(file('./../evil.txt', 'x')), /"\.\."/],
    [
      'a ".." in a PAX path',
      () => tarball(entry({ path: 'ok.txt', type: 'File' }, Buffer.from('x'), { path: '../pax-evil.txt' })),
      /"\.\."/,
    ],
    [
      'a ".." in a GNU long path',
      () => tarball(gnuLongPath('../../gnu-evil.txt'), file('ok.txt', 'x')),
      /"\.\."/,
    ],
    [
      'a symlink',
      () => tarball(entry({ path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' })),
      /SymbolicLink/,
    ],
    ['a hard link', () => tarball(entry({ path: 'hard', type: 'Link', linkpath: '/etc/passwd' })), /Link/],
    ['a character device', () => tarball(entry({ path: 'dev', type: 'CharacterDevice' })), /CharacterDevice/],
    ['a FIFO', () => tarball(entry({ path: 'fifo', type: 'FIFO' })), /FIFO/],
    ['a duplicate path', () => tarball(file('a.txt', '1'), file('a.txt', '2')), /twice/],
    ['a file under a file', () => tarball(file('a', '1'), file('a/b', '2')), /both a file and a folder/],
    [
      'a file that is not UTF-8',
      () => tarball(entry({ path: 'bin', type: 'File' }, Buffer.from([0xff, 0xfe]))),
      /UTF-8/,
    ],
    ['something that is not gzip', () => Buffer.from('hello, not a tarball'), /not a gzipped tar/],
    ['corrupt gzip', () => Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]), /corrupt/],
    ['a tar of gzip inside gzip', () => gzipSync(tarball(file('a.txt', 'x'))), /not a tar/],
    ['a truncated tar', () => gzipSync(file('a.txt', 'x'.repeat(2000)).subarray(0, 1024)), /truncated/],
  ])('refuses %s', async (_name, make, reason) => {
    expect(await refusal(unpackBundle(make()))).toMatch(reason);
  });

  it('refuses a header with a wrong checksum', async () => {
    const raw = file('a.txt', 'x');
    raw[0] = 'b'.charCodeAt(0); // path changed after the checksum was computed
    expect(await refusal(unpackBundle(gzipSync(Buffer.concat([raw, Buffer.alloc(1024)]))))).toMatch(
      /checksum/,
    );
  });

  it('enforces the file count, per-file and total limits', async () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}.txt`, content: 'x'.repeat(600) }));
    const { tarball: tgz } = await packBundle(many);
    expect(await unpackBundle(tgz)).toHaveLength(5);
    expect(await refusal(unpackBundle(tgz, { maxFiles: 4 }))).toMatch(/more than 4 files/);
    expect(await refusal(unpackBundle(tgz, { maxFileBytes: 500 }))).toMatch(/600 bytes; the limit is 500/);
    expect(await refusal(unpackBundle(tgz, { maxTotalBytes: 2000 }))).toMatch(/more than 2000 bytes/);
  });

  it('has default limits: 500 files, 1 MiB per file', async () => {
    const tooMany = Array.from({ length: 501 }, (_, i) => file(`f${i}.txt`, ''));
    expect(await refusal(unpackBundle(tarball(...tooMany)))).toMatch(/more than 500 files/);
    const big = entry({ path: 'big.txt', type: 'File' }, Buffer.alloc(1024 * 1024 + 1, 0x61));
    expect(await refusal(unpackBundle(tarball(big)))).toMatch(/big\.txt.*1048577 bytes/);
  });

  it('stops decompressing a gzip bomb at the limit', async () => {
    // 64 MiB of zeros compress to ~64 KiB; the tar never gets built in memory.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200 * 1024);
    expect(await refusal(unpackBundle(bomb))).toMatch(/unpacks to more than/);
  });
});

describe('extractBundle', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'spawnai-bundle-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the files under the folder', async () => {
    const { tarball: tgz } = await packBundle(FILES);
    const dir = path.join(root, 'app');
    await extractBundle(tgz, dir);
    expect(await readFile(path.join(dir, 'public', 'index.html'), 'utf8')).toBe('<h1>Hello ✓</h1>\n');
    expect((await readdir(dir)).sort()).toEqual(['package.json', 'public', 'server.js']);
  });

  it('writes nothing at all, inside or outside, for a hostile bundle', async () => {
    const dir = path.join(root, 'a', 'app');
    const tgz = tarball(file('fine.txt', 'x'), file('../../escaped.txt', 'x'));
    expect(await refusal(extractBundle(tgz, dir))).toMatch(/"\.\."/);
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses a symlink made by the tar package from a real folder', async () => {
    const src = path.join(root, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'a.txt'), 'a');
    await symlink('/etc/passwd', path.join(src, 'passwd'));
    const out = path.join(root, 'hostile.tgz');
    await tarCreate({ gzip: true, file: out, cwd: src }, ['a.txt', 'passwd']);
    const dir = path.join(root, 'app');
    expect(await refusal(extractBundle(await readFile(out), dir))).toMatch(/"passwd" is a SymbolicLink/);
    await expect(readdir(dir)).rejects.toThrow();
  });

  it('refuses to write into a folder that is not empty', async () => {
    const dir = path.join(root, 'app');
    await mkdir(dir);
    await writeFile(path.join(dir, 'old.txt'), 'old');
    const { tarball: tgz } = await packBundle(FILES);
    await expect(extractBundle(tgz, dir)).rejects.toThrow(/empty folder/);
  });
});
