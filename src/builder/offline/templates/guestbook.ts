/**
 * Guestbook / form: visitors leave a name and a message; entries are listed newest first.
 * Fits guestbooks, feedback, contact and RSVP forms.
 *
 * API: GET /api/entries (newest first), POST /api/entries {name, message}, GET /api/entries/:id.
 * Records: {id, name, message, createdAt, updatedAt}. No delete: visitors cannot remove others' entries.
 *
 * Selectors: form `#guestbook-form`, inputs `#entry-name` and `#entry-message` (textarea),
 * submit `#sign-guestbook`, confirmation `#entry-status`, list `#entry-list`, each entry
 * `li.entry` (`data-id`) holding `.entry-name`, `.entry-message` and `time.entry-date`;
 * `#entry-count`, `#entry-empty`, `#error`.
 */
import { loadOnStart, pageTemplate } from './page.js';
import type { Template } from './types.js';

const NAME_MAX_CHARS = 80;
const MESSAGE_MAX_CHARS = 2000;

const ROUTES = `
async function handle(req, res, url) {
  if (url.pathname === '/') return sendPage(req, res);
  const route = matchApi(url.pathname, 'entries');
  if (!route) throw notFound();
  if (route.id !== undefined) {
    if (req.method !== 'GET') throw notAllowed('GET');
    return sendJson(res, 200, store.get(route.id));
  }
  if (req.method === 'GET') return sendJson(res, 200, [...store.list()].reverse());
  if (req.method !== 'POST') throw notAllowed('GET, POST');
  const body = await readObject(req);
  const entry = store.add({
    name: text(body, 'name', ${NAME_MAX_CHARS}),
    message: text(body, 'message', ${MESSAGE_MAX_CHARS}),
  });
  return sendJson(res, 201, entry);
}
`;

const MAIN = `
<section class="card">
  <h2>Leave a message</h2>
  <form id="guestbook-form" class="stack" autocomplete="off">
    <label>Your name
      <input id="entry-name" name="name" type="text" maxlength="${NAME_MAX_CHARS}" required>
    </label>
    <label>Message
      <textarea id="entry-message" name="message" maxlength="${MESSAGE_MAX_CHARS}" required></textarea>
    </label>
    <div><button id="sign-guestbook" type="submit">Send</button></div>
    <p id="entry-status" class="muted" role="status"></p>
  </form>
</section>
<section class="card">
  <h2>Messages <span id="entry-count" class="muted"></span></h2>
  <ul id="entry-list" class="list"></ul>
  <p id="entry-empty" class="empty">No messages yet. Be the first!</p>
</section>
`;

const CSS = `
form.stack label{display:grid;gap:.3rem;font-weight:600;font-size:.95rem}
form.stack label input,form.stack label textarea{font-weight:400}
#entry-status{margin:0;min-height:1.2em}
.entry{padding:.75rem 0;border-bottom:1px solid var(--border)}
.entry:last-child{border-bottom:0}
.entry-head{display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap}
.entry-name{font-weight:600;color:var(--accent);overflow-wrap:anywhere}
.entry-message{margin:.3rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
`;

const SCRIPT = `
const list = document.getElementById('entry-list');
const form = document.getElementById('guestbook-form');
const statusLine = document.getElementById('entry-status');
let entries = [];

function render() {
  list.replaceChildren(...entries.map((entry) => {
    const item = el('li', { className: 'entry' },
      el('div', { className: 'entry-head' },
        el('span', { className: 'entry-name' }, entry.name),
        el('time', { className: 'entry-date muted', dateTime: entry.createdAt }, when(entry.createdAt))),
      el('p', { className: 'entry-message' }, entry.message));
    item.dataset.id = String(entry.id);
    return item;
  }));
  document.getElementById('entry-empty').hidden = entries.length > 0;
  document.getElementById('entry-count').textContent = entries.length ? '(' + entries.length + ')' : '';
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = document.getElementById('entry-name').value.trim();
  const message = document.getElementById('entry-message').value.trim();
  if (!name || !message) return;
  run(async () => {
    entries.unshift(await api('POST', '/api/entries', { name, message }));
    document.getElementById('entry-message').value = '';
    statusLine.textContent = 'Thanks, ' + name + '! Your message is up.';
    render();
  });
});

${loadOnStart('entries', '/api/entries')}
`;

export const guestbookTemplate: Template = pageTemplate({
  id: 'guestbook',
  label: 'a guestbook',
  server: { routes: ROUTES },
  page: (spec) => ({ spec, main: MAIN, css: CSS, script: SCRIPT }),
});
