import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { validateApp } from '../../../../src/builder/validate.js';
import { removeAppDirs, startApp, stopAllApps, writeApp } from '../offline/app-process.js';

afterAll(async () => {
  await stopAllApps();
  await removeAppDirs();
});

/** A raw GET, so the path reaches the server exactly as written (fetch would normalise `..`). */
function rawGet(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'GET', path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the tiny server added to a static site', () => {
  it('serves the site under Node’s permission model, and nothing outside it', async () => {
    const report = validateApp([
      {
        path: 'index.html',
        content: '<!doctype html><title>Menu</title><link rel="stylesheet" href="style.css">',
      },
      { path: 'style.css', content: 'body { color: teal; }' },
      { path: 'docs/index.html', content: '<p>docs</p>' },
    ]);
    expect(report.problems).toEqual([]);
    const app = await startApp(await writeApp(report.files));

    const home = await fetch(app.url);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await home.text()).toContain('<title>Menu</title>');
    const css = await fetch(`${app.url}/style.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await (await fetch(`${app.url}/docs/`)).text()).toBe('<p>docs</p>');
    expect((await fetch(`${app.url}/missing.html`)).status).toBe(404);
    expect((await fetch(`${app.url}/server.js`)).status).toBe(404);
    expect((await fetch(`${app.url}/`, { method: 'POST' })).status).toBe(405);
    expect(await rawGet(app.url, '/%2e%2e/%2e%2e/etc/passwd')).toBe(404);
    expect(await rawGet(app.url, '/..%2f..%2fetc%2fpasswd')).toBe(404);
  });
});
