import { jsLiteral } from '../escape.js';
import type { TemplateId } from './types.js';

/**
 * The part of every generated `server.js` that is the same in all templates: a JSON file
 * store written atomically, a size-limited JSON body reader, response helpers and startup.
 * Templates add `handle(req, res, url)`. Only `node:` built-ins; reads no env var but PORT;
 * touches no file outside its own folder, so it runs under Node's permission model.
 */

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_ITEMS = 1000;

export interface ServerSource {
  readonly template: TemplateId;
  readonly title: string;
  /** Serve `index.html` (read once at start) on `GET /`. */
  readonly page: boolean;
  /** Records a fresh app starts with (the dashboard's sample data). */
  readonly seed?: readonly Record<string, unknown>[];
  /** Template code: must define `async function handle(req, res, url)`. */
  readonly routes: string;
}

const RUNTIME = String.raw`
const APP_DIR = path.dirname(fileURLToPath(import.meta.url));
const DATA_FILE = path.join(APP_DIR, 'data.json');
const PORT = Number(process.env.PORT) || 3000;
const MAX_BODY_BYTES = ${MAX_BODY_BYTES};
// Past this an oversized body is not worth reading to the end: the connection is dropped.
const MAX_DRAIN_BYTES = 16 * MAX_BODY_BYTES;
const MAX_ITEMS = ${MAX_ITEMS};
const HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };

class HttpError extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

// ---- storage: data.json next to this file, replaced atomically (temp file + rename) ----

function readData() {
  try {
    const data = JSON.parse(readFileSync(DATA_FILE, 'utf8'));
    if (Number.isInteger(data.nextId) && Array.isArray(data.items)) return data;
    throw new Error('unexpected shape');
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    console.error('data.json is unreadable (' + err.message + '); kept as data.json.bad, starting empty');
    renameSync(DATA_FILE, DATA_FILE + '.bad');
    return undefined;
  }
}

function writeData(data) {
  const tmp = DATA_FILE + '.tmp';
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n');
  renameSync(tmp, DATA_FILE);
}

function openStore(seed = []) {
  let data = readData();
  if (!data) {
    const now = new Date().toISOString();
    const items = seed.map((fields, i) => ({ id: i + 1, ...fields, createdAt: now, updatedAt: now }));
    data = { nextId: items.length + 1, items };
  }
  // The file is written before memory changes, so a failed write changes nothing.
  const commit = (next) => {
    writeData(next);
    data = next;
  };
  const record = (id, fields, createdAt, updatedAt) => {
    const { id: _id, createdAt: _created, updatedAt: _updated, ...rest } = fields;
    return { id, ...rest, createdAt, updatedAt };
  };
  return {
    list: () => data.items,
    get(id) {
      const item = data.items.find((it) => it.id === id);
      if (!item) throw new HttpError(404, 'Nothing with id ' + id + '.');
      return item;
    },
    add(fields) {
      if (data.items.length >= MAX_ITEMS) {
        throw new HttpError(507, 'This app holds at most ' + MAX_ITEMS + ' items; delete some first.');
      }
      const now = new Date().toISOString();
      const item = record(data.nextId, fields, now, now);
      commit({ nextId: data.nextId + 1, items: [...data.items, item] });
      return item;
    },
    replace(id, fields) {
      const item = record(id, fields, this.get(id).createdAt, new Date().toISOString());
      commit({ nextId: data.nextId, items: data.items.map((it) => (it.id === id ? item : it)) });
      return item;
    },
    remove(id) {
      this.get(id);
      commit({ nextId: data.nextId, items: data.items.filter((it) => it.id !== id) });
    },
  };
}

// ---- requests ----

function readJson(req) {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, 'The request body is larger than 64 KB.', { Connection: 'close' });
    if (Number(req.headers['content-length']) > MAX_DRAIN_BYTES) return reject(tooLarge());
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) req.destroy();
      else if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(tooLarge());
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'The request body is not valid JSON.'));
      }
    });
    req.on('close', () => reject(new HttpError(400, 'The request was cut short.')));
  });
}

async function readObject(req) {
  const body = await readJson(req);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'The request body must be a JSON object.');
  }
  return body;
}

function text(body, key, maxLength, { optional = false } = {}) {
  const value = body[key];
  if (optional && (value === undefined || value === '')) return '';
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HttpError(400, '"' + key + '" must be a non-empty string.');
  }
  if (value.length > maxLength) {
    throw new HttpError(400, '"' + key + '" must be at most ' + maxLength + ' characters.');
  }
  return value.trim();
}

const has = (body, key) => Object.hasOwn(body, key);

/** Matches "/api/<name>" (id undefined) and "/api/<name>/<id>" (id a number, NaN if malformed). */
function matchApi(pathname, name) {
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] !== 'api' || parts[1] !== name || parts.length > 3) return undefined;
  return { id: parts.length === 3 ? Number(parts[2]) : undefined };
}

const notAllowed = (allow) => new HttpError(405, 'Use ' + allow + '.', { Allow: allow });
const notFound = () => new HttpError(404, 'Not found.');

// ---- responses ----

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, {
    ...HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(JSON.stringify(body, null, 2) + '\n');
}

function sendEmpty(res, status, headers = {}) {
  res.writeHead(status, { ...HEADERS, ...headers });
  res.end();
}
`;

const PAGE = `
const PAGE = readFileSync(path.join(APP_DIR, 'index.html'));

function sendPage(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw notAllowed('GET');
  res.writeHead(200, { ...HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : PAGE);
}
`;

const STARTUP = `
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  handle(req, res, url).catch((err) => {
    if (!(err instanceof HttpError)) console.error(err);
    if (res.headersSent) return res.destroy();
    const status = err instanceof HttpError ? err.status : 500;
    const message = err instanceof HttpError ? err.message : 'Something went wrong.';
    sendJson(res, status, { error: message }, err.headers);
  });
});

server.listen(PORT, () => console.log(TITLE + ' is listening on port ' + PORT));
`;

/** The whole `server.js` of an app. */
export function serverSource(source: ServerSource): string {
  return [
    `// Generated by SpawnAI's offline builder (template: ${source.template}). Needs only Node's built-ins.`,
    "// Data is kept in data.json next to this file; start with 'npm start' (PORT defaults to 3000).",
    "import { readFileSync, renameSync, writeFileSync } from 'node:fs';",
    "import { createServer } from 'node:http';",
    "import path from 'node:path';",
    "import { fileURLToPath } from 'node:url';",
    '',
    `const TITLE = ${jsLiteral(source.title)};`,
    RUNTIME,
    source.page ? PAGE : '',
    `const store = openStore(${jsLiteral(source.seed ?? [])});`,
    source.routes.trim(),
    STARTUP,
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}
