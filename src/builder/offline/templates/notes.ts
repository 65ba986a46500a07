/**
 * Notes / blog: write a title and a body, read them back newest first, delete. A prompt about
 * a blog says "post", a journal or diary "entry", anything else "note"; the API is the same.
 *
 * API: GET /api/notes (newest first), POST /api/notes {title?, body}, GET|PATCH /api/notes/:id
 * {title?, body?}, DELETE /api/notes/:id (204). Records: {id, title, body, createdAt, updatedAt}.
 *
 * Selectors: form `#note-form`, inputs `#note-title` and `#note-body` (textarea), submit
 * `#add-note`, list `#note-list`, each note `article.note` (`data-id`) holding `h3.note-title`,
 * `p.note-body`, `time.note-date` and `button.delete`; `#note-empty`, `#error`.
 */
import { pageTemplate } from './page.js';
import type { Template } from './types.js';

const TITLE_MAX_CHARS = 200;
const BODY_MAX_CHARS = 20_000;

const ROUTES = `
async function handle(req, res, url) {
  if (url.pathname === '/') return sendPage(req, res);
  const route = matchApi(url.pathname, 'notes');
  if (!route) throw notFound();
  if (route.id === undefined) {
    if (req.method === 'GET') return sendJson(res, 200, [...store.list()].reverse());
    if (req.method !== 'POST') throw notAllowed('GET, POST');
    const body = await readObject(req);
    const note = store.add({
      title: text(body, 'title', ${TITLE_MAX_CHARS}, { optional: true }),
      body: text(body, 'body', ${BODY_MAX_CHARS}),
    });
    return sendJson(res, 201, note);
  }
  const note = store.get(route.id);
  if (req.method === 'GET') return sendJson(res, 200, note);
  if (req.method === 'PATCH') {
    const body = await readObject(req);
    const changes = {};
    if (has(body, 'title')) changes.title = text(body, 'title', ${TITLE_MAX_CHARS}, { optional: true });
    if (has(body, 'body')) changes.body = text(body, 'body', ${BODY_MAX_CHARS});
    return sendJson(res, 200, store.replace(note.id, { ...note, ...changes }));
  }
  if (req.method === 'DELETE') {
    store.remove(note.id);
    return sendEmpty(res, 204);
  }
  throw notAllowed('GET, PATCH, DELETE');
}
`;

interface Wording {
  readonly noun: string;
  readonly action: string;
}

function wordingFor(description: string): Wording {
  if (/\b(?:blog|posts?|articles?|news)\b/i.test(description)) return { noun: 'post', action: 'Publish' };
  if (/\b(?:journal|diary)\b/i.test(description)) return { noun: 'entry', action: 'Save entry' };
  return { noun: 'note', action: 'Save note' };
}

const main = ({ noun, action }: Wording) => `
<section class="card">
  <h2>New ${noun}</h2>
  <form id="note-form" class="stack" autocomplete="off">
    <label class="sr" for="note-title">Title</label>
    <input id="note-title" name="title" type="text" placeholder="Title" maxlength="${TITLE_MAX_CHARS}">
    <label class="sr" for="note-body">Text</label>
    <textarea id="note-body" name="body" placeholder="Write something…" maxlength="${BODY_MAX_CHARS}" required></textarea>
    <div><button id="add-note" type="submit">${action}</button></div>
  </form>
</section>
<section id="note-list"></section>
<p id="note-empty" class="empty">No ${noun === 'entry' ? 'entries' : `${noun}s`} yet. Write the first one above.</p>
`;

const CSS = `
.note h3{margin:0;font-size:1.2rem;overflow-wrap:anywhere}
.note-head{display:flex;justify-content:space-between;align-items:start;gap:.5rem}
.note-date{display:block;margin:.15rem 0 .5rem}
.note-body{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
.note{border-left:4px solid var(--accent)}
`;

const SCRIPT = `
const list = document.getElementById('note-list');
const form = document.getElementById('note-form');
let notes = [];

function render() {
  list.replaceChildren(...notes.map((note) => {
    const remove = el('button', { type: 'button', className: 'delete ghost', textContent: 'Delete' });
    remove.addEventListener('click', () => run(async () => {
      await api('DELETE', '/api/notes/' + note.id);
      notes = notes.filter((n) => n.id !== note.id);
      render();
    }));
    const article = el('article', { className: 'note card' },
      el('div', { className: 'note-head' }, el('h3', { className: 'note-title' }, note.title || 'Untitled'), remove),
      el('time', { className: 'note-date muted', dateTime: note.createdAt }, when(note.createdAt)),
      el('p', { className: 'note-body' }, note.body));
    article.dataset.id = String(note.id);
    return article;
  }));
  document.getElementById('note-empty').hidden = notes.length > 0;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const title = document.getElementById('note-title').value.trim();
  const body = document.getElementById('note-body').value.trim();
  if (!body) return;
  run(async () => {
    notes.unshift(await api('POST', '/api/notes', { title, body }));
    form.reset();
    render();
  });
});

run(async () => {
  notes = await api('GET', '/api/notes');
  render();
});
`;

export const notesTemplate: Template = pageTemplate({
  id: 'notes',
  label: 'a notes and blog app',
  server: { routes: ROUTES },
  page: (spec) => ({ spec, main: main(wordingFor(spec.description)), css: CSS, script: SCRIPT }),
});
