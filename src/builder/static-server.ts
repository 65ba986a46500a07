import type { AppFile } from './types.js';

/** The file our tiny static server lives in. */
export const STATIC_SERVER_PATH = 'server.js';

/**
 * A dependency-free server for a static site (an app that is only HTML, CSS and JS): serves
 * the files of its own folder on PORT, `index.html` for `/` and for folders, 404 otherwise,
 * never anything outside the folder. Written in CommonJS so it needs no `"type"` field.
 */
const STATIC_SERVER_SOURCE = `'use strict';
// Added by SpawnAI: serves this static site on PORT.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = __dirname;
const PORT = Number(process.env.PORT) || 3000;
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

function resolve(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return undefined;
  }
  const target = path.normalize(path.join(ROOT, decoded));
  if (target !== ROOT && !target.startsWith(ROOT + path.sep)) return undefined;
  try {
    const stat = fs.statSync(target);
    return stat.isDirectory() ? path.join(target, 'index.html') : target;
  } catch {
    return undefined;
  }
}

http
  .createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolve(req.url || '/');
    if (!file || path.basename(file) === 'server.js' || path.basename(file) === 'package.json') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
        'cache-control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  })
  .listen(PORT, () => {
    process.stdout.write('static site on port ' + PORT + '\\n');
  });
`;

/** Whether the files are a static site we can serve: an `index.html`, no package.json, no server.js. */
export function isStaticSite(files: readonly AppFile[]): boolean {
  const paths = new Set(files.map((f) => f.path));
  return paths.has('index.html') && !paths.has('package.json') && !paths.has(STATIC_SERVER_PATH);
}

/** The files that turn a static site into a runnable app: a package.json and the server. */
export function staticServerFiles(name: string): AppFile[] {
  const pkg = {
    name: name || 'static-site',
    version: '1.0.0',
    private: true,
    description: 'A static site served by a tiny server added by SpawnAI',
    scripts: { start: `node ${STATIC_SERVER_PATH}` },
  };
  return [
    { path: 'package.json', content: `${JSON.stringify(pkg, null, 2)}\n` },
    { path: STATIC_SERVER_PATH, content: STATIC_SERVER_SOURCE },
  ];
}
