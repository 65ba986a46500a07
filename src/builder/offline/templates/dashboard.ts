/**
 * Dashboard: summary cards and a bar chart drawn as inline SVG (no libraries) over data
 * points people add; a fresh app starts with a week of sample numbers.
 *
 * API: GET /api/points (oldest first), POST /api/points {label, value: number},
 * GET|DELETE /api/points/:id. Records: {id, label, value, createdAt, updatedAt}.
 *
 * Selectors: `#stat-count`, `#stat-total`, `#stat-average`, `#stat-max`; chart `svg#chart`
 * with one `rect.bar` per point shown (the latest 24, `data-id`); form `#point-form`, inputs
 * `#point-label` and `#point-value` (number), submit `#add-point`; list `#point-list` with
 * `li.point-item` (`data-id`) holding `.point-label`, `.point-value` and `button.delete`; `#error`.
 */
import { loadOnStart, pageTemplate } from './page.js';
import type { Template } from './types.js';

const LABEL_MAX_CHARS = 40;

const SEED = [
  { label: 'Mon', value: 12 },
  { label: 'Tue', value: 19 },
  { label: 'Wed', value: 15 },
  { label: 'Thu', value: 24 },
  { label: 'Fri', value: 31 },
  { label: 'Sat', value: 27 },
  { label: 'Sun', value: 18 },
];

const ROUTES = `
function value(body) {
  const v = body.value;
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 1e12) {
    throw new HttpError(400, '"value" must be a number.');
  }
  return v;
}

async function handle(req, res, url) {
  if (url.pathname === '/') return sendPage(req, res);
  const route = matchApi(url.pathname, 'points');
  if (!route) throw notFound();
  if (route.id === undefined) {
    if (req.method === 'GET') return sendJson(res, 200, store.list());
    if (req.method !== 'POST') throw notAllowed('GET, POST');
    const body = await readObject(req);
    return sendJson(res, 201, store.add({ label: text(body, 'label', ${LABEL_MAX_CHARS}), value: value(body) }));
  }
  const point = store.get(route.id);
  if (req.method === 'GET') return sendJson(res, 200, point);
  if (req.method === 'DELETE') {
    store.remove(point.id);
    return sendEmpty(res, 204);
  }
  throw notAllowed('GET, DELETE');
}
`;

const MAIN = `
<section class="stats">
  <div class="card stat"><span class="muted">Entries</span><strong id="stat-count">–</strong></div>
  <div class="card stat"><span class="muted">Total</span><strong id="stat-total">–</strong></div>
  <div class="card stat"><span class="muted">Average</span><strong id="stat-average">–</strong></div>
  <div class="card stat"><span class="muted">Highest</span><strong id="stat-max">–</strong></div>
</section>
<section class="card">
  <h2>Overview</h2>
  <svg id="chart" viewBox="0 0 600 260" role="img" aria-label="Bar chart of the values"></svg>
</section>
<section class="card">
  <h2>Add a data point</h2>
  <form id="point-form" class="row" autocomplete="off">
    <label class="sr" for="point-label">Label</label>
    <input id="point-label" name="label" type="text" placeholder="Label, e.g. Mon" maxlength="${LABEL_MAX_CHARS}" required>
    <label class="sr" for="point-value">Value</label>
    <input id="point-value" name="value" type="number" step="any" placeholder="Value" required>
    <button id="add-point" type="submit">Add</button>
  </form>
  <ul id="point-list" class="list"></ul>
</section>
`;

const CSS = `
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin-bottom:1rem}
.stats .card{margin:0}
.stat strong{display:block;font-size:1.6rem;color:var(--accent)}
#chart{width:100%;height:auto;display:block}
#chart .bar{fill:var(--accent)}
#chart .grid{stroke:var(--border)}
#chart text{fill:var(--muted);font:15px system-ui,sans-serif}
#chart text.value{fill:var(--fg)}
#point-list{margin-top:.75rem}
.point-item{display:flex;gap:.75rem;align-items:center;padding:.4rem 0;border-bottom:1px solid var(--border)}
.point-item:last-child{border-bottom:0}
.point-label{flex:1;overflow-wrap:anywhere}
.point-value{font-variant-numeric:tabular-nums;font-weight:600}
`;

const SCRIPT = `
const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 600, HEIGHT = 260, LEFT = 44, RIGHT = 10, TOP = 24, BOTTOM = 30, MAX_BARS = 24;
const chart = document.getElementById('chart');
const list = document.getElementById('point-list');
const form = document.getElementById('point-form');
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
let points = [];

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, val] of Object.entries(attrs)) node.setAttribute(key, String(val));
  node.append(...children);
  return node;
}

function drawChart() {
  const shown = points.slice(-MAX_BARS);
  const values = shown.map((p) => p.value);
  const max = Math.max(0, ...values), min = Math.min(0, ...values);
  const span = max - min || 1;
  const y = (v) => TOP + ((max - v) / span) * (HEIGHT - TOP - BOTTOM);
  const slot = (WIDTH - LEFT - RIGHT) / Math.max(shown.length, 1);
  const nodes = [];
  const tick = new Intl.NumberFormat(undefined, { maximumFractionDigits: span >= 10 ? 0 : 2, notation: 'compact' });
  for (let i = 0; i <= 4; i++) {
    const v = min + (span * i) / 4;
    nodes.push(svg('line', { class: 'grid', x1: LEFT, x2: WIDTH - RIGHT, y1: y(v), y2: y(v) }));
    nodes.push(svg('text', { x: LEFT - 6, y: y(v) + 5, 'text-anchor': 'end' }, tick.format(v)));
  }
  shown.forEach((p, i) => {
    const x = LEFT + i * slot + slot * 0.15;
    const top = Math.min(y(p.value), y(0));
    const bar = svg('rect', { class: 'bar', x, y: top, width: slot * 0.7, rx: 3,
      height: Math.max(Math.abs(y(p.value) - y(0)), 1) }, svg('title', {}, p.label + ': ' + number.format(p.value)));
    bar.dataset.id = String(p.id);
    const label = p.label.length > 6 ? p.label.slice(0, 5) + '…' : p.label;
    nodes.push(bar,
      svg('text', { x: x + slot * 0.35, y: HEIGHT - 10, 'text-anchor': 'middle' }, label),
      svg('text', { class: 'value', x: x + slot * 0.35, y: top - 5, 'text-anchor': 'middle' }, number.format(p.value)));
  });
  chart.replaceChildren(...nodes);
}

function render() {
  const values = points.map((p) => p.value);
  const total = values.reduce((a, b) => a + b, 0);
  document.getElementById('stat-count').textContent = String(values.length);
  document.getElementById('stat-total').textContent = number.format(total);
  document.getElementById('stat-average').textContent = values.length ? number.format(total / values.length) : '–';
  document.getElementById('stat-max').textContent = values.length ? number.format(Math.max(...values)) : '–';
  drawChart();
  list.replaceChildren(...points.map((p) => {
    const remove = el('button', { type: 'button', className: 'delete ghost', textContent: '✕' });
    remove.setAttribute('aria-label', 'Delete');
    remove.addEventListener('click', () => run(async () => {
      await api('DELETE', '/api/points/' + p.id);
      points = points.filter((q) => q.id !== p.id);
      render();
    }));
    const item = el('li', { className: 'point-item' },
      el('span', { className: 'point-label' }, p.label),
      el('span', { className: 'point-value' }, number.format(p.value)), remove);
    item.dataset.id = String(p.id);
    return item;
  }));
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const label = document.getElementById('point-label').value.trim();
  const value = Number(document.getElementById('point-value').value);
  if (!label || !Number.isFinite(value)) return;
  run(async () => {
    points.push(await api('POST', '/api/points', { label, value }));
    form.reset();
    document.getElementById('point-label').focus();
    render();
  });
});

${loadOnStart('points', '/api/points')}
`;

export const dashboardTemplate: Template = pageTemplate({
  id: 'dashboard',
  label: 'a dashboard with a chart',
  server: { seed: SEED, routes: ROUTES },
  page: (spec) => ({ spec, main: MAIN, css: CSS, script: SCRIPT }),
});
