import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SESSION_MS, AdminAuth } from '../../../src/admin/auth.js';
import { localSecret } from '../../../src/config/local-secrets.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { ARTIFACTS, launchBrowser } from '../../helpers/browser.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

const TOKEN = 'admin-token-0123456789abcdef0123';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ ADMIN_TOKEN: TOKEN });
});
afterAll(async () => {
  await t?.stop();
});

describe('admin authentication', () => {
  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer wrong' }],
    ['a token of the right length', { authorization: `Bearer ${'x'.repeat(TOKEN.length)}` }],
    ['a forged cookie', { cookie: 'spawnai_admin=forged' }],
  ])('%s: 401 on the API, the board and the dashboard', async (_what, headers: Record<string, string>) => {
    for (const route of ['/admin/api/overview', '/admin/api/sessions', '/admin/queues/api/queues']) {
      const res = await fetch(`${t.url}${route}`, { headers });
      expect(res.status, route).toBe(401);
    }
    const page = await fetch(`${t.url}/admin`, { headers: { ...headers, accept: 'text/html' } });
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('Admin token');
  });

  it('with the token: the API and the queue board answer', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${t.url}/admin/api/overview`, { headers })).status).toBe(200);
    const board = await fetch(`${t.url}/admin/queues/api/queues`, { headers });
    expect(board.status).toBe(200);
    const queues = ((await board.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(queues).toEqual(['inbound', 'notify', 'reap', 'spawn']);
  });

  it('gives every sign-in a fresh session that expires, never a value derived from the token alone', async () => {
    const signIn = async () => {
      const res = await fetch(`${t.url}/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${encodeURIComponent(TOKEN)}`,
        redirect: 'manual',
      });
      expect(res.status).toBe(303);
      return res.headers.getSetCookie().find((c) => c.startsWith('spawnai_admin='))!;
    };
    const first = await signIn();
    const second = await signIn();
    const value = (cookie: string) => cookie.split(';')[0]!;
    expect(value(first)).not.toBe(value(second));
    // Host-only (no Domain), HttpOnly, SameSite=Strict, for the admin pages only.
    expect(first).toMatch(/; HttpOnly/i);
    expect(first).toMatch(/; SameSite=Strict/i);
    expect(first).toMatch(/; Path=\/admin/);
    expect(first).not.toMatch(/Domain=/i);
    for (const cookie of [first, second]) {
      expect(
        (await fetch(`${t.url}/admin/api/overview`, { headers: { cookie: value(cookie) } })).status,
      ).toBe(200);
    }
    const tampered = value(first).replace(/\.(\d+)\./, (_m, ms: string) => `.${Number(ms) + 3_600_000}.`);
    expect((await fetch(`${t.url}/admin/api/overview`, { headers: { cookie: tampered } })).status).toBe(401);

    // Twelve hours later the same cookie no longer opens anything.
    const key = t.config.COOKIE_SECRET ?? localSecret(t.config.DATA_DIR, 'cookieSecret');
    const later = new AdminAuth(TOKEN, key, () => Date.now() + ADMIN_SESSION_MS + 1000);
    const now = new AdminAuth(TOKEN, key);
    const session = decodeURIComponent(value(first).slice('spawnai_admin='.length));
    expect(now.sessionValid(session)).toBe(true);
    expect(later.sessionValid(session)).toBe(false);
  });

  it("compares tokens in time that does not depend on the wrong token's length", () => {
    const auth = new AdminAuth(TOKEN, 'key');
    const candidates = ['a', 'x'.repeat(TOKEN.length), 'y'.repeat(40), TOKEN.slice(0, -1)];
    const rounds = 25;
    const perRound = 2000;
    const samples = candidates.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      candidates.forEach((c, i) => {
        // CPU time, not the clock: a busy machine makes a round wait for a core, which the
        // clock counts (a CI run with a CPU-heavy process beside it failed on that) and this
        // does not.
        const start = process.cpuUsage();
        for (let k = 0; k < perRound; k++) auth.matches(c);
        const used = process.cpuUsage(start);
        samples[i]!.push(((used.user + used.system) * 1000) / perRound);
      });
    }
    // The cheapest round of each candidate: the process's other threads (GC, I/O) can only add
    // to a round, so the minimum is the cost of the comparison itself.
    const perCall = samples.map((xs) => Math.min(...xs));
    const spread = Math.max(...perCall) - Math.min(...perCall);
    // Every guess costs one HMAC over a short input and one fixed-length comparison.
    expect(spread).toBeLessThan(Math.max(...perCall) * 0.5 + 2000); // ns: well below anything a network shows
    expect(auth.matches(TOKEN)).toBe(true);
  });
});

describe('admin dashboard in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in, sees the session, stops it, and the app stops answering', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a guestbook for the climbing club');
    const sessionId = sent.spawn!.sessionId;
    const live = await until('live', async () => {
      const s = await t.app.repos.sessions.get(sessionId);
      return s?.status === 'live' ? s : undefined;
    });
    expect((await fetchPreview(live.previewUrl!)).status).toBe(200);

    const page = await browser.newPage();
    await page.goto(`${t.url}/admin`);
    await page.fill('#token', TOKEN);
    await page.click('#sign-in');
    const row = page.locator(`#sessions tr[data-session="${sessionId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('live');
    await page.locator('#chart svg rect.bar').first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-dashboard.png'), fullPage: true });
    await row.locator('button', { hasText: 'Stop' }).click();
    await page
      .locator(`#sessions tr[data-session="${sessionId}"][data-status="stopped"]`)
      .waitFor({ timeout: 15_000 });
    await until('port closed', async () => {
      const res = await fetchPreview(live.previewUrl!, { signal: AbortSignal.timeout(500) }).catch(
        () => undefined,
      );
      return res?.status !== 200;
    });
    await page.close();
  }, 60_000);
});
