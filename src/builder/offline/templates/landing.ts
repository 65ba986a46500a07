/**
 * Landing page: a hero with a call to action, three feature cards and a waitlist form that
 * stores email addresses. Also the default template for prompts that match nothing else.
 *
 * API: GET /api/signups -> {count} (addresses are never listed), POST /api/signups {email}
 * -> 201 {count} (200 with `alreadySignedUp` for a repeat).
 *
 * Selectors: call to action `a#cta`, features `#features` with `.feature` cards, form
 * `#signup-form`, input `#signup-email` (type email), submit `#signup-submit`, result
 * `#signup-message`, `#signup-count`, `#error`.
 */

import { escapeHtml } from '../escape.js';
import { pageTemplate } from './page.js';
import type { Template } from './types.js';

const EMAIL_MAX_CHARS = 254;

const ROUTES = `
const EMAIL = /^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/;

async function handle(req, res, url) {
  if (url.pathname === '/') return sendPage(req, res);
  if (url.pathname !== '/api/signups') throw notFound();
  if (req.method === 'GET') return sendJson(res, 200, { count: store.list().length });
  if (req.method !== 'POST') throw notAllowed('GET, POST');
  const body = await readObject(req);
  const email = text(body, 'email', ${EMAIL_MAX_CHARS}).toLowerCase();
  if (!EMAIL.test(email)) throw new HttpError(400, '"email" must be an email address.');
  if (store.list().some((s) => s.email === email)) {
    return sendJson(res, 200, { alreadySignedUp: true, count: store.list().length });
  }
  store.add({ email });
  return sendJson(res, 201, { count: store.list().length });
}
`;

const FEATURES: readonly (readonly [string, string])[] = [
  ['Simple from the start', 'Everything you need and nothing you do not, so you can get going in minutes.'],
  ['Works everywhere', 'On your phone, tablet or laptop, with nothing to install.'],
  ['Made with care', 'Built in the open, shaped by the people who use it. Tell us what you need next.'],
];

const main = (brand: string) => `
<section id="features" class="features">
${FEATURES.map(([heading, copy]) => `  <div class="card feature"><h2>${heading}</h2><p>${copy}</p></div>`).join('\n')}
</section>
<section id="signup" class="card signup">
  <h2>Be the first to know</h2>
  <p>Join the waitlist and hear from ${brand} as soon as there is news.</p>
  <form id="signup-form" class="row" autocomplete="on">
    <label class="sr" for="signup-email">Email address</label>
    <input id="signup-email" name="email" type="email" placeholder="you@example.com" maxlength="${EMAIL_MAX_CHARS}" required>
    <button id="signup-submit" type="submit">Join the waitlist</button>
  </form>
  <p id="signup-message" role="status"></p>
  <p id="signup-count" class="muted"></p>
</section>
`;

/** "Landing Page for My Bakery" -> "My Bakery": who the waitlist hears from. */
function brandFromTitle(title: string): string {
  const brand = title.replace(
    /^(?:(?:a|an|the)\s+)?(?:landing\s+page|website|web\s*site|site|home\s*page|page|one-?pager|splash\s+page)\s+(?:for|of|about)\s+/i,
    '',
  );
  return brand === '' ? title : brand;
}

const HERO = '<p class="cta-row"><a id="cta" class="button" href="#signup">Get early access</a></p>';

const CSS = `
header.top{padding:2.5rem 0 1rem}
header.top .subtitle{font-size:1.15rem}
.cta-row{margin:1.5rem 0 0}
.features{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:1rem;margin-bottom:1rem}
.features .card{margin:0}
.feature h2{color:var(--accent)}
.feature p{margin:0;color:var(--muted)}
.signup{text-align:center;padding:1.5rem 1.1rem}
.signup form{max-width:30rem;margin:0 auto}
#signup-message{font-weight:600;margin:.75rem 0 0;min-height:1.2em}
`;

const SCRIPT = `
const form = document.getElementById('signup-form');
const input = document.getElementById('signup-email');

function showCount(count) {
  document.getElementById('signup-count').textContent =
    count === 0 ? '' : count + (count === 1 ? ' person has' : ' people have') + ' joined so far.';
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const email = input.value.trim();
  if (!email) return;
  run(async () => {
    const result = await api('POST', '/api/signups', { email });
    document.getElementById('signup-message').textContent = result.alreadySignedUp
      ? 'You are already on the list. Thank you!'
      : 'Thanks! You are on the list.';
    form.reset();
    showCount(result.count);
  });
});

run(async () => showCount((await api('GET', '/api/signups')).count));
`;

export const landingTemplate: Template = pageTemplate({
  id: 'landing',
  label: 'a landing page',
  server: { routes: ROUTES },
  page: (spec) => ({
    spec,
    main: main(escapeHtml(brandFromTitle(spec.title))),
    heroExtra: HERO,
    css: CSS,
    script: SCRIPT,
  }),
});
