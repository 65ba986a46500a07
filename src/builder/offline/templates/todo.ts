/**
 * Todo list: add, tick done, delete; the page talks to a JSON API in the same server.
 *
 * API: GET /api/todos, POST /api/todos {text}, GET|PATCH /api/todos/:id {text?, done?},
 * DELETE /api/todos/:id (204). Records: {id, text, done, createdAt, updatedAt}.
 *
 * Selectors: form `#todo-form`, text input `#new-todo`, add button `#add-todo` (Enter submits),
 * list `#todo-list`, each item `li.todo-item` (`.done` when ticked, `data-id`) holding
 * `input.toggle` (checkbox), `span.todo-text` and `button.delete`; `#todo-count` ("2 items
 * left"), `#todo-empty` (shown when there are none), `#error`.
 */
import { loadOnStart, pageTemplate } from './page.js';
import type { Template } from './types.js';

const TEXT_MAX_CHARS = 500;

const ROUTES = `
async function handle(req, res, url) {
  if (url.pathname === '/') return sendPage(req, res);
  const route = matchApi(url.pathname, 'todos');
  if (!route) throw notFound();
  if (route.id === undefined) {
    if (req.method === 'GET') return sendJson(res, 200, store.list());
    if (req.method !== 'POST') throw notAllowed('GET, POST');
    const body = await readObject(req);
    return sendJson(res, 201, store.add({ text: text(body, 'text', ${TEXT_MAX_CHARS}), done: false }));
  }
  const todo = store.get(route.id);
  if (req.method === 'GET') return sendJson(res, 200, todo);
  if (req.method === 'PATCH') {
    const body = await readObject(req);
    const changes = {};
    if (has(body, 'text')) changes.text = text(body, 'text', ${TEXT_MAX_CHARS});
    if (has(body, 'done')) {
      if (typeof body.done !== 'boolean') throw new HttpError(400, '"done" must be true or false.');
      changes.done = body.done;
    }
    return sendJson(res, 200, store.replace(todo.id, { ...todo, ...changes }));
  }
  if (req.method === 'DELETE') {
    store.remove(todo.id);
    return sendEmpty(res, 204);
  }
  throw notAllowed('GET, PATCH, DELETE');
}
`;

const MAIN = `
<section class="card">
  <form id="todo-form" class="row" autocomplete="off">
    <label class="sr" for="new-todo">New todo</label>
    <input id="new-todo" name="text" type="text" placeholder="What needs doing?" maxlength="${TEXT_MAX_CHARS}" required>
    <button id="add-todo" type="submit">Add</button>
  </form>
</section>
<section class="card">
  <ul id="todo-list" class="list"></ul>
  <p id="todo-empty" class="empty">Nothing to do yet. Add the first item above.</p>
  <p id="todo-count" class="muted"></p>
</section>
`;

const CSS = `
.todo-item{display:flex;align-items:center;gap:.7rem;padding:.6rem 0;border-bottom:1px solid var(--border)}
.todo-item:last-child{border-bottom:0}
.todo-item .toggle{width:1.2rem;height:1.2rem;accent-color:var(--accent);flex:none}
.todo-text{flex:1;overflow-wrap:anywhere}
.todo-item.done .todo-text{text-decoration:line-through;color:var(--muted)}
#todo-count{margin:.5rem 0 0}
`;

const SCRIPT = `
const list = document.getElementById('todo-list');
const input = document.getElementById('new-todo');
let todos = [];

function render() {
  list.replaceChildren(...todos.map((todo) => {
    const toggle = el('input', { type: 'checkbox', className: 'toggle', checked: todo.done });
    toggle.setAttribute('aria-label', 'Done');
    toggle.addEventListener('change', () => run(async () => {
      const updated = await api('PATCH', '/api/todos/' + todo.id, { done: toggle.checked });
      todos = todos.map((t) => (t.id === todo.id ? updated : t));
      render();
    }));
    const remove = el('button', { type: 'button', className: 'delete ghost', textContent: '✕' });
    remove.setAttribute('aria-label', 'Delete');
    remove.addEventListener('click', () => run(async () => {
      await api('DELETE', '/api/todos/' + todo.id);
      todos = todos.filter((t) => t.id !== todo.id);
      render();
    }));
    const item = el('li', { className: todo.done ? 'todo-item done' : 'todo-item' },
      toggle, el('span', { className: 'todo-text' }, todo.text), remove);
    item.dataset.id = String(todo.id);
    return item;
  }));
  const left = todos.filter((t) => !t.done).length;
  document.getElementById('todo-empty').hidden = todos.length > 0;
  document.getElementById('todo-count').textContent =
    todos.length === 0 ? '' : left + (left === 1 ? ' item' : ' items') + ' left';
}

document.getElementById('todo-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = input.value.trim();
  if (!value) return;
  run(async () => {
    todos.push(await api('POST', '/api/todos', { text: value }));
    input.value = '';
    input.focus();
    render();
  });
});

${loadOnStart('todos', '/api/todos')}
`;

export const todoTemplate: Template = pageTemplate({
  id: 'todo',
  label: 'a todo list',
  server: { routes: ROUTES },
  page: (spec) => ({ spec, main: MAIN, css: CSS, script: SCRIPT }),
});
