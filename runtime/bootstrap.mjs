#!/usr/bin/env node
// The SpawnAI runtime bootstrap: turns a generated app bundle into a running process.
//
//   BUNDLE_URL     where to download the bundle (a gzipped tar), http(s) only; a signed URL
//   BUNDLE_SHA256  its hex sha256; anything else is refused
//   PORT           the port the app must listen on (default 8080)
//   APP_DIR        where the app is unpacked (default ~/app); must be empty or hold this bundle
//
// Steps: download -> verify -> unpack -> install production dependencies (only when the app
// declares any; `npm ci` when it ships a lockfile) -> start on PORT. Every step logs one line
// prefixed `[spawnai-runtime]`; a failing step logs the reason and exits with its own code.
// Only Node built-ins: it runs on node:26-slim and on Node 20 (the tests run it locally).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, constants as osConstants } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Exit codes, one per step, so a platform's "exited with code N" already says which step failed. */
const EXIT = Object.freeze({ config: 64, download: 65, checksum: 66, unpack: 67, install: 68, start: 69 });

const DOWNLOAD_TIMEOUT_MS = 60_000;
const DOWNLOAD_ATTEMPTS = 4;
const DOWNLOAD_BACKOFF_MS = 1_000;
const BUNDLE_MAX_BYTES = 50 * 1024 * 1024;
const UNPACKED_MAX_BYTES = 200 * 1024 * 1024;
const BUNDLE_MAX_ENTRIES = 20_000;
const INSTALL_TIMEOUT_MS = 5 * 60_000;
const READY_WAIT_MS = 60_000;
const READY_POLL_MS = 250;
const MARKER_FILE = '.spawnai-bundle';
const BLOCK = 512;
/** Variables the bootstrap consumes; the app does not need them (BUNDLE_URL carries a token). */
const OWN_VARS = ['BUNDLE_URL', 'BUNDLE_SHA256', 'APP_DIR'];

class StepError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

function log(message) {
  console.log(`[spawnai-runtime] ${message}`);
}

/** The URL without its query string or credentials: signed URLs carry their token there. */
function describeUrl(raw) {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

function readSettings(env) {
  const url = env.BUNDLE_URL?.trim();
  const sha256 = env.BUNDLE_SHA256?.trim().toLowerCase();
  if (!url) throw new StepError('config', 'BUNDLE_URL is not set');
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new StepError('config', 'BUNDLE_URL is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new StepError('config', `BUNDLE_URL must be http(s), not ${parsed.protocol}`);
  }
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new StepError('config', 'BUNDLE_SHA256 must be 64 hex characters');
  }
  const port = Number(env.PORT ?? '8080');
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StepError('config', 'PORT must be a port number');
  }
  const appDir = path.resolve(env.APP_DIR?.trim() || path.join(homedir(), 'app'));
  return { url, sha256, port, appDir };
}

// ---- download ----

async function readLimited(res, max) {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) throw new StepError('download', `the bundle is ${declared} bytes; the limit is ${max}`);
  const chunks = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > max) throw new StepError('download', `the bundle is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function describeFetchError(e) {
  if (e?.name === 'TimeoutError') return `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`;
  const code = e?.cause?.code;
  return code ?? e?.cause?.message ?? e?.message ?? String(e);
}

async function download(url) {
  let last = '';
  for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS), redirect: 'follow' });
      if (res.status === 200) return await readLimited(res, BUNDLE_MAX_BYTES);
      await res.arrayBuffer().catch(() => undefined);
      last = `HTTP ${res.status}`;
      // 4xx other than 408/429 will not get better: an expired or wrong signed URL.
      if (res.status < 500 && res.status !== 408 && res.status !== 429) break;
    } catch (e) {
      if (e instanceof StepError) throw e;
      last = describeFetchError(e);
    }
    if (attempt < DOWNLOAD_ATTEMPTS) {
      const wait = DOWNLOAD_BACKOFF_MS * 2 ** (attempt - 1);
      log(`download attempt ${attempt} failed (${last}); retrying in ${wait / 1000} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  throw new StepError('download', `could not download the bundle from ${describeUrl(url)} (${last})`);
}

// ---- unpack: gunzip + a strict ustar/pax reader ----

function cString(buf, start, length) {
  const slice = buf.subarray(start, start + length);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? slice.length : nul).toString('utf8');
}

function octal(buf, start, length, what) {
  if (buf[start] & 0x80) throw new StepError('unpack', `a tar ${what} uses base-256; not supported`);
  const text = cString(buf, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new StepError('unpack', `a tar header has a malformed ${what}`);
  return Number.parseInt(text, 8);
}

function checksumOk(header) {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === octal(header, 148, 8, 'checksum');
}

function parsePax(body) {
  const out = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number(body.subarray(offset, space).toString('utf8'));
    if (!Number.isInteger(length) || length <= 0 || offset + length > body.length) {
      throw new StepError('unpack', 'a tar extended header is malformed');
    }
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return out;
}

/** A relative, forward-slash path inside the app, or a StepError. */
function safeRelative(raw) {
  const p = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const bad = (why) => new StepError('unpack', `refused entry ${JSON.stringify(raw.slice(0, 120))}: ${why}`);
  if (p === '' || p === '.') return '';
  if (p.includes('\0') || p.includes('\\')) throw bad('it contains a NUL or a backslash');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw bad('it is absolute');
  if (p.split('/').some((s) => s === '..' || s === '')) throw bad('it leaves the app folder');
  return p;
}

/** Reads every entry of a gzipped tar; only regular files and folders are accepted. */
function readTarGz(tarball) {
  if (tarball.length < 2 || tarball[0] !== 0x1f || tarball[1] !== 0x8b) {
    throw new StepError('unpack', 'the bundle is not a gzipped tar');
  }
  let raw;
  try {
    raw = gunzipSync(tarball, { maxOutputLength: UNPACKED_MAX_BYTES });
  } catch (e) {
    const tooBig = e?.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
    throw new StepError(
      'unpack',
      tooBig ? `it unpacks to more than ${UNPACKED_MAX_BYTES} bytes` : 'corrupt gzip',
    );
  }
  const entries = [];
  let offset = 0;
  let pax = {};
  let longName;
  while (offset + BLOCK <= raw.length) {
    const header = raw.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw new StepError('unpack', 'a tar header has a wrong checksum');
    const size = octal(header, 124, 12, 'size');
    const type = String.fromCharCode(header[156] || 0x30);
    const bodyStart = offset + BLOCK;
    const bodyEnd = bodyStart + size;
    if (bodyEnd > raw.length) throw new StepError('unpack', 'the tar is truncated');
    const body = raw.subarray(bodyStart, bodyEnd);
    offset = bodyStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      pax = parsePax(body);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L') {
      longName = cString(body, 0, body.length);
      continue;
    }
    const magic = cString(header, 257, 6);
    const prefix = magic.startsWith('ustar') ? cString(header, 345, 155) : '';
    const name = cString(header, 0, 100);
    const rawPath = pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    const mode = octal(header, 100, 8, 'mode');
    pax = {};
    longName = undefined;
    const rel = safeRelative(rawPath);
    if (type === '5') {
      if (rel) entries.push({ path: rel, dir: true });
    } else if (type === '0' || type === '7') {
      if (!rel) throw new StepError('unpack', 'a file entry has an empty name');
      entries.push({ path: rel, dir: false, mode, content: body });
    } else {
      throw new StepError(
        'unpack',
        `entry ${JSON.stringify(rel)} is not a regular file or folder (type ${type})`,
      );
    }
    if (entries.length > BUNDLE_MAX_ENTRIES)
      throw new StepError('unpack', `more than ${BUNDLE_MAX_ENTRIES} entries`);
  }
  return entries;
}

function unpack(entries, appDir) {
  const root = path.resolve(appDir);
  let files = 0;
  for (const entry of entries) {
    const target = path.resolve(root, ...entry.path.split('/'));
    if (!target.startsWith(root + path.sep))
      throw new StepError('unpack', `${entry.path} leaves the app folder`);
    if (entry.dir) {
      mkdirSync(target, { recursive: true, mode: 0o755 });
      continue;
    }
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    try {
      // wx: never overwrite or follow something already there (a duplicate entry).
      writeFileSync(target, entry.content, { flag: 'wx', mode: entry.mode & 0o111 ? 0o755 : 0o644 });
    } catch (e) {
      if (e?.code === 'EEXIST') throw new StepError('unpack', `${entry.path} appears twice`);
      throw new StepError('unpack', `could not write ${entry.path}: ${e?.code ?? e?.message}`);
    }
    files++;
  }
  return files;
}

/** 'fresh' (missing or empty), 'same' (this bundle is already unpacked: a restart), or a StepError. */
function appDirState(appDir, sha256) {
  if (!existsSync(appDir)) return 'fresh';
  const names = readdirSync(appDir);
  if (names.length === 0) return 'fresh';
  try {
    if (readFileSync(path.join(appDir, MARKER_FILE), 'utf8').trim() === sha256) return 'same';
  } catch {
    // no marker: someone else's files
  }
  throw new StepError('unpack', `APP_DIR ${appDir} is not empty and holds another bundle`);
}

// ---- install ----

function readPackageJson(appDir) {
  const file = path.join(appDir, 'package.json');
  if (!existsSync(file)) return undefined;
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new StepError('start', 'package.json is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new StepError('start', 'package.json is not a JSON object');
  }
  return parsed;
}

function childEnv(port) {
  const env = { ...process.env };
  for (const name of OWN_VARS) delete env[name];
  env.PORT = String(port);
  env.NODE_ENV ??= 'production';
  return env;
}

function run(command, args, options, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ error: e.code ?? e.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

async function install(appDir, pkg, port) {
  const deps = pkg?.dependencies;
  const names = deps && typeof deps === 'object' && !Array.isArray(deps) ? Object.keys(deps) : [];
  if (names.length === 0) {
    log('install: the app has no dependencies; nothing to install');
    return;
  }
  const lockfile = ['npm-shrinkwrap.json', 'package-lock.json'].find((f) => existsSync(path.join(appDir, f)));
  const args = lockfile
    ? ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error']
    : ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'];
  log(
    `install: ${names.length} dependencies (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}); ` +
      `running npm ${args[0]}${lockfile ? ` (${lockfile})` : ' (no lockfile)'}`,
  );
  const started = Date.now();
  const result = await run('npm', args, { cwd: appDir, env: childEnv(port) }, INSTALL_TIMEOUT_MS);
  if (result.error) throw new StepError('install', `could not run npm (${result.error})`);
  if (result.code !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    throw new StepError('install', `npm ${args[0]} ${how}`);
  }
  log(`install: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// ---- start ----

/** `node <file> [args]` start scripts run without a shell (signals reach the app directly). */
const NODE_SCRIPT = /^(?:exec\s+)?(?:NODE_ENV=production\s+)?node\s+([A-Za-z0-9_@.\-/=\s]+)$/;
const DEFAULT_ENTRIES = ['server.js', 'index.js', 'server.mjs', 'index.mjs'];

function startCommand(appDir, pkg) {
  const script = typeof pkg?.scripts?.start === 'string' ? pkg.scripts.start.trim() : '';
  if (script) {
    const m = NODE_SCRIPT.exec(script);
    if (m) return { command: process.execPath, args: m[1].trim().split(/\s+/), shown: script };
    return { command: '/bin/sh', args: ['-c', script], shown: script, shell: true };
  }
  if (typeof pkg?.main === 'string' && pkg.main.trim()) {
    return { command: process.execPath, args: [pkg.main.trim()], shown: `node ${pkg.main.trim()}` };
  }
  const entry = DEFAULT_ENTRIES.find((f) => existsSync(path.join(appDir, f)));
  if (entry) return { command: process.execPath, args: [entry], shown: `node ${entry}` };
  throw new StepError(
    'start',
    'no start command: package.json has no scripts.start or main, and there is no server.js',
  );
}

function logWhenListening(port, child) {
  const deadline = Date.now() + READY_WAIT_MS;
  const tryOnce = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      log(`start: the app is listening on port ${port}`);
    });
    socket.once('error', () => {
      socket.destroy();
      if (Date.now() < deadline) setTimeout(tryOnce, READY_POLL_MS).unref();
      else log(`start: the app has not opened port ${port} after ${READY_WAIT_MS / 1000} s`);
    });
  };
  tryOnce();
}

function start(appDir, pkg, port) {
  const cmd = startCommand(appDir, pkg);
  const env = childEnv(port);
  if (cmd.shell) env.PATH = `${path.join(appDir, 'node_modules', '.bin')}${path.delimiter}${env.PATH ?? ''}`;
  log(`start: ${cmd.shown} on port ${port}`);
  const child = spawn(cmd.command, cmd.args, { cwd: appDir, env, stdio: 'inherit' });
  child.once('error', (e) =>
    fail(new StepError('start', `could not start the app (${e.code ?? e.message})`)),
  );
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(signal, () => {
      log(`received ${signal}; stopping the app`);
      child.kill(signal);
    });
  }
  child.once('exit', (code, signal) => {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    log(`the app ${how}`);
    process.exit(code ?? 128 + (osConstants.signals[signal] ?? 15));
  });
  logWhenListening(port, child);
}

function fail(e) {
  const step = e instanceof StepError ? e.step : 'start';
  console.error(`[spawnai-runtime] error: ${step} failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(EXIT[step] ?? 1);
}

async function main() {
  const settings = readSettings(process.env);
  const { url, sha256, port, appDir } = settings;
  if (appDirState(appDir, sha256) === 'same') {
    log(`unpack: ${appDir} already holds bundle ${sha256.slice(0, 12)} (a restart); skipping download`);
    // An install that failed before the restart is tried again.
    if (!existsSync(path.join(appDir, 'node_modules'))) await install(appDir, readPackageJson(appDir), port);
  } else {
    log(`download: ${describeUrl(url)}`);
    const started = Date.now();
    const tarball = await download(url);
    log(`download: ${tarball.length} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const actual = createHash('sha256').update(tarball).digest('hex');
    if (actual !== sha256) {
      throw new StepError(
        'checksum',
        `bundle checksum mismatch: expected ${sha256}, got ${actual}; refusing to run it`,
      );
    }
    log(`verify: sha256 ${sha256.slice(0, 12)} matches`);
    const entries = readTarGz(tarball);
    mkdirSync(appDir, { recursive: true, mode: 0o755 });
    const files = unpack(entries, appDir);
    writeFileSync(path.join(appDir, MARKER_FILE), `${sha256}\n`);
    log(`unpack: ${files} files into ${appDir}`);
    await install(appDir, readPackageJson(appDir), port);
  }
  start(appDir, readPackageJson(appDir), port);
}

main().catch(fail);
