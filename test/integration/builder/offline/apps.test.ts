import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../../../src/builder/offline/escape.js';
import { createOfflineBuilder } from '../../../../src/builder/offline/index.js';
import type { TemplateId } from '../../../../src/builder/offline/templates/types.js';
import type { BuildResult } from '../../../../src/builder/types.js';
import { call, type RunningApp, removeAppDirs, startApp, stopAllApps, writeApp } from './app-process.js';

/**
 * Every template, built and run the way the local provider runs it: its own folder, Node's
 * permission model limited to that folder, an environment of only PORT. Nothing here reaches
 * beyond 127.0.0.1.
 */

const builder = createOfflineBuilder();

async function build(prompt: string): Promise<BuildResult> {
  return builder.build({
    sessionId: 'sess',
    buildId: 'build',
    prompt,
    originalPrompt: prompt,
    budget: { maxOutputTokens: 1, wallTimeMs: 60_000 },
    onProgress: () => {},
    signal: new AbortController().signal,
  });
}

type Check = (app: RunningApp) => Promise<void>;

interface Scenario {
  readonly template: TemplateId;
  readonly prompt: string;
  /** Where a POST creates a record: used for the 413 and 400 checks. */
  readonly createPath: string;
  /** Exercises the main feature; returns what must still hold after a restart. */
  readonly exercise: (app: RunningApp) => Promise<Check>;
}

type Json = Record<string, unknown>;
const list = (body: unknown) => body as Json[];

const SCENARIOS: readonly Scenario[] = [
  {
    template: 'todo',
    prompt: 'a todo list for my climbing gym',
    createPath: '/api/todos',
    async exercise(app) {
      const created = await call(app, 'POST', '/api/todos', { text: 'Buy chalk' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ text: 'Buy chalk', done: false });
      const id = (created.body as Json).id;
      const other = await call(app, 'POST', '/api/todos', { text: 'Fix the hold' });
      expect((await call(app, 'PATCH', `/api/todos/${id}`, { done: true })).body).toMatchObject({
        done: true,
      });
      expect((await call(app, 'DELETE', `/api/todos/${(other.body as Json).id}`)).status).toBe(204);
      expect((await call(app, 'POST', '/api/todos', { text: '' })).status).toBe(400);
      expect((await call(app, 'PATCH', `/api/todos/${id}`, { done: 'yes' })).status).toBe(400);
      expect((await call(app, 'GET', '/api/todos/999')).status).toBe(404);
      const all = list((await call(app, 'GET', '/api/todos')).body);
      expect(all).toEqual([expect.objectContaining({ id, text: 'Buy chalk', done: true })]);
      return async (restarted) => {
        expect(list((await call(restarted, 'GET', '/api/todos')).body)).toEqual(all);
      };
    },
  },
  {
    template: 'landing',
    prompt: 'a landing page for my bakery',
    createPath: '/api/signups',
    async exercise(app) {
      expect((await call(app, 'GET', '/api/signups')).body).toEqual({ count: 0 });
      const joined = await call(app, 'POST', '/api/signups', { email: 'Ada@Example.com' });
      expect(joined).toMatchObject({ status: 201, body: { count: 1 } });
      const again = await call(app, 'POST', '/api/signups', { email: 'ada@example.com' });
      expect(again).toMatchObject({ status: 200, body: { alreadySignedUp: true, count: 1 } });
      expect((await call(app, 'POST', '/api/signups', { email: 'not an email' })).status).toBe(400);
      return async (restarted) => {
        expect((await call(restarted, 'GET', '/api/signups')).body).toEqual({ count: 1 });
      };
    },
  },
  {
    template: 'notes',
    prompt: 'a blog about sourdough',
    createPath: '/api/notes',
    async exercise(app) {
      const first = await call(app, 'POST', '/api/notes', { title: 'Starter', body: 'Feed it daily.' });
      expect(first.status).toBe(201);
      await call(app, 'POST', '/api/notes', { body: 'Untitled thoughts' });
      expect((await call(app, 'POST', '/api/notes', { title: 'No body' })).status).toBe(400);
      const edited = await call(app, 'PATCH', `/api/notes/${(first.body as Json).id}`, {
        body: 'Feed it twice.',
      });
      expect(edited.body).toMatchObject({ title: 'Starter', body: 'Feed it twice.' });
      const notes = list((await call(app, 'GET', '/api/notes')).body);
      expect(notes.map((n) => n.body)).toEqual(['Untitled thoughts', 'Feed it twice.']);
      return async (restarted) => {
        expect(list((await call(restarted, 'GET', '/api/notes')).body)).toEqual(notes);
      };
    },
  },
  {
    template: 'dashboard',
    prompt: 'a dashboard with a chart of weekly sales',
    createPath: '/api/points',
    async exercise(app) {
      const seeded = list((await call(app, 'GET', '/api/points')).body);
      expect(seeded.map((p) => p.label)).toEqual(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
      const added = await call(app, 'POST', '/api/points', { label: 'Bonus', value: 42.5 });
      expect(added).toMatchObject({ status: 201, body: { label: 'Bonus', value: 42.5 } });
      expect((await call(app, 'POST', '/api/points', { label: 'Bad', value: '12' })).status).toBe(400);
      expect((await call(app, 'DELETE', `/api/points/${seeded[0]?.id}`)).status).toBe(204);
      const points = list((await call(app, 'GET', '/api/points')).body);
      expect(points).toHaveLength(7);
      return async (restarted) => {
        expect(list((await call(restarted, 'GET', '/api/points')).body)).toEqual(points);
      };
    },
  },
  {
    template: 'rest-api',
    prompt: 'an API for books',
    createPath: '/api/books',
    async exercise(app) {
      const index = (await call(app, 'GET', '/')).body as Json;
      expect(index).toMatchObject({ resource: 'books', count: 0 });
      expect(index.endpoints).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ method: 'GET', path: '/api/books' }),
          expect.objectContaining({ method: 'POST', path: '/api/books' }),
          expect.objectContaining({ method: 'DELETE', path: '/api/books/:id' }),
        ]),
      );

      const created = await call(app, 'POST', '/api/books', { title: 'Dune', author: 'Herbert', id: 99 });
      expect(created.status).toBe(201);
      const book = created.body as Json;
      expect(book).toMatchObject({ id: 1, title: 'Dune', author: 'Herbert' });
      expect(created.headers.get('location')).toBe('/api/books/1');
      expect(created.headers.get('access-control-allow-origin')).toBe('*');

      expect((await call(app, 'GET', '/api/books/1')).body).toEqual(book);
      const patched = await call(app, 'PATCH', '/api/books/1', { year: 1965 });
      expect(patched.body).toMatchObject({ id: 1, title: 'Dune', author: 'Herbert', year: 1965 });
      const replaced = await call(app, 'PUT', '/api/books/1', { title: 'Dune Messiah' });
      expect(replaced.body).toMatchObject({ id: 1, title: 'Dune Messiah', createdAt: book.createdAt });
      expect(replaced.body).not.toHaveProperty('author');

      const second = await call(app, 'POST', '/api/books', { title: 'Emma' });
      expect((await call(app, 'DELETE', `/api/books/${(second.body as Json).id}`)).status).toBe(204);
      expect((await call(app, 'GET', `/api/books/${(second.body as Json).id}`)).status).toBe(404);
      expect((await call(app, 'POST', '/api/books', [1, 2])).status).toBe(400);
      expect((await call(app, 'GET', '/api/authors')).status).toBe(404);

      const books = list((await call(app, 'GET', '/api/books')).body);
      expect(books).toEqual([replaced.body]);
      return async (restarted) => {
        expect(list((await call(restarted, 'GET', '/api/books')).body)).toEqual(books);
        const next = await call(restarted, 'POST', '/api/books', { title: 'Persuasion' });
        expect((next.body as Json).id).toBe(3);
      };
    },
  },
  {
    template: 'guestbook',
    prompt: 'a guestbook for my wedding',
    createPath: '/api/entries',
    async exercise(app) {
      const signed = await call(app, 'POST', '/api/entries', { name: 'Ada', message: 'Congratulations!' });
      expect(signed).toMatchObject({ status: 201, body: { name: 'Ada', message: 'Congratulations!' } });
      await call(app, 'POST', '/api/entries', { name: 'Grace', message: 'Have fun' });
      expect((await call(app, 'POST', '/api/entries', { name: 'NoMessage' })).status).toBe(400);
      expect((await call(app, 'DELETE', '/api/entries/1')).status).toBe(405);
      const entries = list((await call(app, 'GET', '/api/entries')).body);
      expect(entries.map((e) => e.name)).toEqual(['Grace', 'Ada']);
      return async (restarted) => {
        expect(list((await call(restarted, 'GET', '/api/entries')).body)).toEqual(entries);
      };
    },
  },
];

afterEach(async () => {
  await stopAllApps();
});
afterAll(async () => {
  await removeAppDirs();
});

async function expectTitleOnHome(app: RunningApp, result: BuildResult, template: TemplateId): Promise<void> {
  const res = await fetch(`${app.url}/`);
  expect(res.status).toBe(200);
  if (template === 'rest-api') {
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as Json).name).toBe(result.title);
    return;
  }
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  expect(html).toContain(`<title>${escapeHtml(result.title)}</title>`);
  expect(html).toContain(`<h1 id="app-title">${escapeHtml(result.title)}</h1>`);
}

describe.each(SCENARIOS)('offline $template app', (scenario) => {
  it('serves its page, does its job, rejects bad bodies and keeps data across a restart', async () => {
    const result = await build(scenario.prompt);
    expect(JSON.parse(result.files.find((f) => f.path === 'spawnai.json')?.content ?? '{}').template).toBe(
      scenario.template,
    );
    const dir = await writeApp(result.files);
    const app = await startApp(dir);
    await expectTitleOnHome(app, result, scenario.template);

    const afterRestart = await scenario.exercise(app);

    const tooLarge = await call(app, 'POST', scenario.createPath, { text: 'x'.repeat(100 * 1024) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toEqual({ error: expect.any(String) });
    const badJson = await call(app, 'POST', scenario.createPath, '{"oops": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body).toEqual({ error: expect.any(String) });
    expect((await call(app, 'GET', '/nope')).status).toBe(404);

    await app.stop();
    const files = await readdir(dir);
    expect(files).toContain('data.json');
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(await readFile(path.join(dir, 'data.json'), 'utf8'))).toHaveProperty('items');

    const restarted = await startApp(dir);
    await afterRestart(restarted);
    expect(restarted.output()).not.toMatch(/ERR_ACCESS_DENIED|Error:/);
  });

  it('stays intact with a hostile prompt', async () => {
    const result = await build(
      `${scenario.prompt} </script><script>alert(1)</script> "quoted" 'single' \${x}`,
    );
    const app = await startApp(await writeApp(result.files));
    await expectTitleOnHome(app, result, scenario.template);
  });
});

describe('offline app after an iteration', () => {
  it('keeps working with a new theme, colour and title', async () => {
    const first = await build('a todo list for my climbing gym');
    const second = await builder.build({
      sessionId: 'sess',
      buildId: 'build-2',
      prompt: 'call it Crag Crew, dark mode and make it green',
      originalPrompt: 'a todo list for my climbing gym',
      previousFiles: first.files,
      budget: { maxOutputTokens: 1, wallTimeMs: 60_000 },
      onProgress: () => {},
      signal: new AbortController().signal,
    });
    const app = await startApp(await writeApp(second.files));
    const html = await (await fetch(`${app.url}/`)).text();
    expect(html).toContain('<title>Crag Crew</title>');
    expect(html).toContain('data-theme="dark"');
    expect((await call(app, 'POST', '/api/todos', { text: 'Send route list' })).status).toBe(201);
  });
});
