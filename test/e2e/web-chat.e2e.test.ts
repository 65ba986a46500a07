import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/app.js';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.js';
import { type RunningCli, startCli, waitForHttp } from '../helpers/cli.js';
import { TEST_REDIS_URL } from '../helpers/env.js';
import { hold } from '../helpers/held-request.js';

/** Runs in the page: records every stage and percentage the status card shows, as a person sees them. */
const RECORD_STAGES = `(() => {
  const seen = [];
  window.__seen = seen;
  const note = () => {
    const bar = document.querySelector('li.card[data-stage] .progress-bar');
    const card = bar && bar.closest('li.card');
    if (!bar || !card) return;
    const entry = { stage: card.dataset.stage || '', percent: Number(bar.dataset.percent) };
    const last = seen[seen.length - 1];
    if (!last || last.stage !== entry.stage || last.percent !== entry.percent) seen.push(entry);
  };
  new MutationObserver(note).observe(document.body, { childList: true, subtree: true, attributes: true });
})()`;

/**
 * A person opens the web chat of a freshly started `spawnai start`, asks for an app, watches the
 * progress bar move through the stages, and uses the app behind the preview link.
 */
const BOUND = 2;

describe('web chat in Chromium', () => {
  let server: RunningCli;
  let browser: Browser;

  beforeAll(async () => {
    server = await startCli(['start'], {
      REDIS_URL: TEST_REDIS_URL,
      OFFLINE_BUILD_STEP_MS: '250', // slow enough to see each stage
      LOG_LEVEL: 'warn',
      // Small enough for a test to fill: messages beyond it are answered 503 + Retry-After.
      INBOUND_MAX_IN_FLIGHT: String(BOUND),
    });
    await waitForHttp(`${server.url}/ready`, 45_000);
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      const { code } = await server.exited;
      expect(code, server.output()).toBe(0);
    }
  });

  /** The web chat in a new browser context, with the page's own errors collected. */
  async function openChat() {
    const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    return { context, page, errors };
  }

  it('turns "a todo list for my climbing gym" into a working app', async () => {
    const { context, page, errors } = await openChat();
    await expect(page.getByRole('heading', { name: 'What should I build?' }).isVisible()).resolves.toBe(true);

    await page.evaluate(RECORD_STAGES);

    await page.fill('#prompt', 'a todo list for my climbing gym');
    await page.click('#send');
    await page.locator('li.msg.user', { hasText: 'a todo list for my climbing gym' }).waitFor();
    await page.locator('li.card[data-stage="building"]').first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'chat-building.png') });

    const link = page.locator('li.card.success .buttons a.preview-link').first();
    await link.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'chat-live.png') });

    const seen = (await page.evaluate('window.__seen')) as { stage: string; percent: number }[];
    const stages = [...new Set(seen.map((s) => s.stage))];
    // The card shows the newest state at the web chat's edit pace (150 ms): a deploy quicker
    // than that (an idle machine, the local sandbox) is drawn straight as live, never skipped
    // backwards. The build's steps (250 ms each) are always seen.
    expect(stages).toEqual(expect.arrayContaining(['building', 'live']));
    expect(stages.filter((s) => ['building', 'deploying', 'live'].includes(s))).toEqual(
      ['building', 'deploying', 'live'].filter((s) => stages.includes(s)),
    );
    const percents = seen.map((s) => s.percent);
    expect(percents.at(-1)).toBe(100);
    expect(percents).toEqual([...percents].sort((a, b) => a - b)); // the bar only moves forward
    expect(new Set(percents).size).toBeGreaterThanOrEqual(4);
    await expect(page.locator('li.card.success').first().textContent()).resolves.toContain('offline builder');

    // The app's first load answers late (a slow network, a busy machine): its answer, taken
    // before the first add, must not wipe the item added meanwhile.
    let firstLoadAnswered = false;
    await context.route('**/api/todos', async (route) => {
      if (route.request().method() !== 'GET' || firstLoadAnswered) return route.continue();
      // The list as the new app holds it before the add, answered after it.
      await new Promise((r) => setTimeout(r, 1500));
      await route.fulfill({ json: [] });
      firstLoadAnswered = true;
    });
    const [preview] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await preview.waitForLoadState();
    expect(await preview.title()).toMatch(/Climbing Gym/);
    await expect(preview.locator('h1').textContent()).resolves.toMatch(/Climbing Gym/);
    await preview.fill('#new-todo', 'Re-tape the crimps on the blue route');
    await preview.click('#add-todo');
    await preview.locator('li.todo-item', { hasText: 'Re-tape the crimps' }).waitFor();
    await until('the first load answered', async () => firstLoadAnswered);
    await preview.waitForTimeout(500); // the page's own time to take the late answer in
    await expect(preview.locator('li.todo-item', { hasText: 'Re-tape the crimps' }).count()).resolves.toBe(1);
    await preview.locator('li.todo-item input.toggle').first().check();
    await preview.screenshot({ path: path.join(ARTIFACTS, 'preview-todo.png') });
    await preview.reload();
    await preview.locator('li.todo-item', { hasText: 'Re-tape the crimps' }).waitFor();

    // The session appears in the list of the person's apps.
    await page.locator('#session-list li', { hasText: 'Climbing Gym' }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('sends a message again by itself while the server is too full to take it: one message, one app', async () => {
    const { context, page, errors } = await openChat();
    // Other requests, held in flight, fill the server's bound.
    const messages = `${server.url}/api/web/messages`;
    const held = Array.from({ length: BOUND }, () =>
      hold({ url: messages, headers: { 'content-type': 'application/json' }, body: '{}' }),
    );
    try {
      await until('the bound to be full', async () => {
        const res = await fetch(messages, { method: 'POST', body: '{}' });
        return res.status === 503 && res.headers.get('retry-after') === '1';
      });
      await page.fill('#prompt', 'a metronome for band practice');
      await page.click('#send');
      // The person is told what is happening, not that something went wrong.
      await page.locator('li.card', { hasText: 'sending yours again' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('li.card', { hasText: 'Something went wrong' }).count()).toBe(0);
    } finally {
      await Promise.all(held.map((h) => h.finish()));
    }
    const link = page.locator('li.card.success .buttons a.preview-link').first();
    await link.waitFor({ timeout: 45_000 });
    await expect(page.locator('li.card', { hasText: 'sending yours again' }).count()).resolves.toBe(0);
    await expect(
      page.locator('li.msg.user', { hasText: 'a metronome for band practice' }).count(),
    ).resolves.toBe(1);
    // One app, after the page is loaded again from the server.
    await page.reload();
    // The list of apps and the history arrive separately; each is drawn whole once it arrives.
    await page.locator('#session-list li[data-session]').first().waitFor();
    await page.locator('li.msg.user').first().waitFor();
    await expect(page.locator('#session-list li[data-session]').count()).resolves.toBe(1);
    await expect(page.locator('li.msg.user').count()).resolves.toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('is usable at phone width', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.fill('#prompt', 'a guestbook for our wedding');
    await page.click('#send');
    await page.locator('li.card.success').first().waitFor({ timeout: 30_000 });
    const overflow = (await page.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    )) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    const box = await page.locator('#send').boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(ARTIFACTS, 'chat-phone.png') });
    await context.close();
  }, 90_000);
});
