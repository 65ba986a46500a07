import { createHash } from 'node:crypto';
import type { AppFile } from '../../types.js';
import { escapeHtml } from '../escape.js';
import { ACCENTS } from '../palette.js';
import { type ServerSource, serverSource } from './server-runtime.js';
import type { AppSpec, Template, TemplateId } from './types.js';

/**
 * The HTML shell every page template shares: theme and accent as CSS variables, a header
 * with the title as `<h1 id="app-title">` and the prompt as `<p id="app-subtitle">`, an error
 * line `#error`, and one inline script allowed by a hash in the page's Content-Security-Policy
 * (so even a missed escape could not run a script). No external fonts, images or requests.
 */

export interface PageParts {
  readonly spec: AppSpec;
  /** Trusted HTML: template markup with every piece of user text already escaped. */
  readonly main: string;
  /** Extra trusted HTML at the end of the header (the landing page's call to action). */
  readonly heroExtra?: string;
  readonly css?: string;
  /** The page's own script; the shared client helpers (`api`, `el`, `run`) come first. */
  readonly script: string;
}

const BASE_CSS = `
:root{--bg:#f8fafc;--card:#fff;--fg:#0f172a;--muted:#64748b;--border:#e2e8f0;color-scheme:light}
:root[data-theme=dark]{--bg:#0b1120;--card:#141d30;--fg:#e2e8f0;--muted:#94a3b8;--border:#27344d;color-scheme:dark}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.wrap{max-width:46rem;margin:0 auto;padding:2rem 1rem 3rem}
header.top{margin-bottom:1.5rem}
h1{margin:0 0 .4rem;font-size:clamp(1.7rem,6vw,2.5rem);line-height:1.15;overflow-wrap:anywhere}
h1::after{content:"";display:block;width:3rem;height:4px;margin-top:.6rem;border-radius:2px;background:var(--accent)}
h2{font-size:1.15rem;margin:0 0 .75rem}
.subtitle{margin:0;color:var(--muted);overflow-wrap:anywhere}
.card{background:var(--card);border:1px solid var(--border);border-radius:14px;padding:1rem 1.1rem;margin-bottom:1rem}
form.row{display:flex;flex-wrap:wrap;gap:.5rem}
form.stack{display:grid;gap:.6rem}
input,textarea{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--border);border-radius:10px;padding:.6rem .75rem;min-width:0}
form.row input{flex:1 1 12rem}
textarea{min-height:6rem;resize:vertical}
input:focus-visible,textarea:focus-visible,button:focus-visible,a:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
button,.button{font:inherit;font-weight:600;border:0;border-radius:10px;padding:.6rem 1.1rem;background:var(--accent);color:var(--on-accent);cursor:pointer;text-decoration:none;display:inline-block}
button:hover,.button:hover{filter:brightness(1.08)}
button.ghost{background:transparent;color:var(--muted);border:1px solid var(--border);font-weight:400;padding:.25rem .6rem}
button.ghost:hover{color:var(--fg)}
ul.list{list-style:none;margin:0;padding:0}
.muted{color:var(--muted);font-size:.9rem}
.empty{color:var(--muted);text-align:center;margin:.5rem 0}
.error{color:#ef4444;margin:0 0 1rem}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
footer{margin-top:2rem;color:var(--muted);font-size:.8rem;text-align:center}
`;

/** Helpers every page script can use; user text only ever reaches the DOM through text nodes. */
const CLIENT_HELPERS = `
const errorLine = document.getElementById('error');
function el(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}
async function api(method, url, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error((data && data.error) || 'Request failed (' + res.status + ').');
  return data;
}
// One action at a time, in the order asked: the first load's answer, arriving after a quick
// first add, would otherwise replace the list without the new item.
let pending = Promise.resolve();
function run(action) {
  pending = pending.then(async () => {
    try {
      errorLine.hidden = true;
      await action();
    } catch (err) {
      errorLine.textContent = err.message;
      errorLine.hidden = false;
    }
  });
  return pending;
}
function when(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
`;

function scriptHash(script: string): string {
  return `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;
}

/** A complete `index.html`. */
export function renderPage(parts: PageParts): string {
  const { spec } = parts;
  const accent = ACCENTS[spec.accent];
  const vars =
    spec.theme === 'dark'
      ? `:root{--accent:${accent.dark};--on-accent:#0b1120}`
      : `:root{--accent:${accent.light};--on-accent:#fff}`;
  const script = `\n${CLIENT_HELPERS.trim()}\n\n${parts.script.trim()}\n`;
  const csp = [
    "default-src 'self'",
    `script-src ${scriptHash(script)}`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
  const title = escapeHtml(spec.title);
  return `<!doctype html>
<html lang="en" data-theme="${spec.theme}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${vars}${BASE_CSS}${(parts.css ?? '').trim()}
</style>
</head>
<body>
<div class="wrap">
<header class="top">
<h1 id="app-title">${title}</h1>
<p class="subtitle" id="app-subtitle">${escapeHtml(spec.description)}</p>
${parts.heroExtra ?? ''}
</header>
<main>
<p id="error" class="error" role="alert" hidden></p>
${parts.main.trim()}
</main>
<footer>Made with SpawnAI · offline template</footer>
</div>
<script>${script}</script>
</body>
</html>
`;
}

/** The files of a template with a page: its server (API + `index.html`) and the page itself. */
function pageAppFiles(server: Omit<ServerSource, 'title' | 'page'>, page: PageParts): AppFile[] {
  return [
    { path: 'server.js', content: serverSource({ ...server, title: page.spec.title, page: true }) },
    { path: 'index.html', content: renderPage(page) },
  ];
}

/** A template with a page: its id and label, its server's routes, and its page from the spec. */
export function pageTemplate(t: {
  readonly id: TemplateId;
  readonly label: string;
  readonly server: Omit<ServerSource, 'title' | 'page' | 'template'>;
  readonly page: (spec: AppSpec) => PageParts;
}): Template {
  return {
    id: t.id,
    label: t.label,
    render: (spec) => pageAppFiles({ ...t.server, template: t.id }, t.page(spec)),
  };
}

/** Client script: load the records into `variable` from `path` at start, then draw them. */
export function loadOnStart(variable: string, path: string): string {
  return `run(async () => {\n  ${variable} = await api('GET', '${path}');\n  render();\n});`;
}
