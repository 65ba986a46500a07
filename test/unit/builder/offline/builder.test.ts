import { describe, expect, it } from 'vitest';
import {
  createOfflineBuilder,
  OFFLINE_LIMITS_NOTE,
  titleFromPrompt,
} from '../../../../src/builder/offline/index.js';
import { TEMPLATE_IDS } from '../../../../src/builder/offline/templates/types.js';
import type { AppFile, BuildProgress, BuildRequest } from '../../../../src/builder/types.js';
import { NO_USAGE } from '../../../../src/builder/types.js';

const PROMPTS = {
  todo: 'a todo list for my climbing gym',
  landing: 'a landing page for my bakery',
  notes: 'a blog about sourdough',
  dashboard: 'a dashboard with a chart of weekly sales',
  'rest-api': 'an API for books',
  guestbook: 'a guestbook for my wedding',
} as const;

function request(overrides: Partial<BuildRequest> = {}): BuildRequest {
  const prompt = overrides.prompt ?? PROMPTS.todo;
  return {
    sessionId: 'sess-1',
    buildId: 'build-1',
    prompt,
    originalPrompt: prompt,
    budget: { maxOutputTokens: 1000, wallTimeMs: 60_000 },
    onProgress: () => {},
    signal: new AbortController().signal,
    ...overrides,
  };
}

const file = (files: readonly AppFile[], path: string) => {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`no ${path}`);
  return found.content;
};

const manifestOf = (files: readonly AppFile[]) => JSON.parse(file(files, 'spawnai.json'));

describe('offline builder', () => {
  const builder = createOfflineBuilder();

  it('names itself', () => {
    expect(builder.name).toBe('offline');
    expect(builder.label).toBe('the offline builder (no ANTHROPIC_API_KEY set)');
  });

  it('returns a result without usage or findings', async () => {
    const result = await builder.build(request());
    expect(result).toMatchObject({
      title: 'Todo List for My Climbing Gym',
      usage: NO_USAGE,
      findings: [],
      promptVersion: 'offline-1',
    });
    expect(result.model).toBeUndefined();
    expect(result.summary).toBe(
      'Built a todo list, "Todo List for My Climbing Gym", from the offline templates.',
    );
    expect(result.summary).not.toContain('\n');
    expect(result.files.map((f) => f.path)).toEqual([
      'package.json',
      'server.js',
      'index.html',
      'spawnai.json',
    ]);
  });

  it.each(TEMPLATE_IDS)('builds %s as a dependency-free app that only reads PORT', async (id) => {
    const { files, title } = await builder.build(request({ prompt: PROMPTS[id] }));
    expect(manifestOf(files)).toMatchObject({ template: id, title });

    const pkg = JSON.parse(file(files, 'package.json'));
    expect(pkg).toMatchObject({ private: true, type: 'module', scripts: { start: 'node server.js' } });
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.devDependencies).toBeUndefined();

    const server = file(files, 'server.js');
    const imports = [...server.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.every((name) => name?.startsWith('node:'))).toBe(true);
    expect([...server.matchAll(/process\.env\.?(\w*)/g)].map((m) => m[1])).toEqual(['PORT']);
    expect(server).not.toMatch(/child_process|worker_threads|https?:\/\/(?!localhost)/);
    for (const f of files) expect(f.content).not.toMatch(/https?:\/\/(?!localhost|www\.w3\.org)/);
  });

  it.each([
    [
      'todo',
      [
        'id="todo-form"',
        'id="new-todo" name="text" type="text"',
        'id="add-todo" type="submit"',
        "'todo-item",
        "'toggle'",
        "'delete ghost'",
      ],
    ],
    [
      'landing',
      ['id="cta"', 'id="signup-form"', 'id="signup-email"', 'id="signup-submit"', 'id="signup-count"'],
    ],
    [
      'notes',
      ['id="note-form"', 'id="note-title"', 'id="note-body"', 'id="add-note"', "'note card'", "'note-body'"],
    ],
    ['dashboard', ['id="chart"', "class: 'bar'", 'id="stat-total"', 'id="point-label"', 'id="add-point"']],
    [
      'guestbook',
      ['id="guestbook-form"', 'id="entry-name"', 'id="entry-message"', 'id="sign-guestbook"', "'entry'"],
    ],
  ] as const)('gives %s its documented selectors', async (id, selectors) => {
    const html = file((await builder.build(request({ prompt: PROMPTS[id] }))).files, 'index.html');
    for (const selector of selectors) expect(html).toContain(selector);
    expect(html).toContain('id="app-title"');
  });

  it('reports progress from choosing a template to 100%, once per file', async () => {
    const events: BuildProgress[] = [];
    const result = await builder.build(request({ onProgress: (p) => events.push(p) }));
    expect(events[0]).toEqual({ percent: 5, detail: 'choosing a template' });
    expect(events.slice(1).map((e) => e.detail)).toEqual([
      'wrote package.json (1/4)',
      'wrote server.js (2/4)',
      'wrote index.html (3/4)',
      'wrote spawnai.json (4/4)',
    ]);
    expect(events).toHaveLength(result.files.length + 1);
    const percents = events.map((e) => e.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
  });

  it('throws the abort reason when aborted before it starts', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(builder.build(request({ signal: controller.signal }))).rejects.toBe(reason);
  });

  it('stops between files when aborted mid-build', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const events: BuildProgress[] = [];
    const build = builder.build(
      request({
        signal: controller.signal,
        onProgress: (p) => {
          events.push(p);
          if (p.detail.startsWith('wrote server.js')) controller.abort(reason);
        },
      }),
    );
    await expect(build).rejects.toBe(reason);
    expect(events.at(-1)?.detail).toBe('wrote server.js (2/4)');
  });

  it('takes theme and colour from the first prompt', async () => {
    const { files, summary } = await builder.build(
      request({ prompt: 'a dark mode guestbook with a teal accent' }),
    );
    expect(manifestOf(files).options).toMatchObject({ theme: 'dark', accent: 'teal' });
    expect(file(files, 'index.html')).toContain('data-theme="dark"');
    expect(summary).toContain('(dark mode, teal accent)');
  });
});

describe('offline builder iterations', () => {
  const builder = createOfflineBuilder();
  const original = PROMPTS.dashboard;

  async function iterate(prompt: string, previousFiles?: readonly AppFile[]) {
    const previous = previousFiles ?? (await builder.build(request({ prompt: original }))).files;
    return builder.build(request({ prompt, originalPrompt: original, previousFiles: previous }));
  }

  it('switches to dark mode and keeps template and title', async () => {
    const result = await iterate('dark mode please');
    expect(manifestOf(result.files)).toMatchObject({
      template: 'dashboard',
      title: titleFromPrompt(original),
      options: { theme: 'dark', accent: 'indigo' },
    });
    expect(result.title).toBe(titleFromPrompt(original));
    expect(file(result.files, 'index.html')).toContain('data-theme="dark"');
    expect(result.summary).toBe('Switched to dark mode.');
  });

  it('changes the accent colour', async () => {
    const result = await iterate('make it green');
    expect(manifestOf(result.files).options.accent).toBe('green');
    expect(file(result.files, 'index.html')).toContain('--accent:#15803d');
    expect(result.summary).toBe('Changed the accent colour to green.');
  });

  it('renames, and the new name sticks through later changes', async () => {
    const renamed = await iterate('call it Sales Board');
    expect(renamed.title).toBe('Sales Board');
    expect(renamed.summary).toBe('Renamed it to "Sales Board".');
    expect(file(renamed.files, 'index.html')).toContain('<h1 id="app-title">Sales Board</h1>');

    const recoloured = await iterate('make it orange', renamed.files);
    expect(recoloured.title).toBe('Sales Board');
    expect(manifestOf(recoloured.files)).toMatchObject({
      title: 'Sales Board',
      options: { accent: 'orange' },
    });
  });

  it('does several things at once', async () => {
    const result = await iterate('call it Crag Crew, dark theme and a purple accent');
    expect(result.title).toBe('Crag Crew');
    expect(manifestOf(result.files).options).toMatchObject({ theme: 'dark', accent: 'purple' });
    expect(result.summary).toBe(
      'Switched to dark mode, changed the accent colour to purple and renamed it to "Crag Crew".',
    );
  });

  it('says so when asked for something it cannot do, and still rebuilds', async () => {
    const result = await iterate('add a login page with Google sign-in');
    expect(result.files.length).toBeGreaterThan(0);
    expect(result.title).toBe(titleFromPrompt(original));
    expect(result.summary).toBe(`Rebuilt "${result.title}" unchanged. ${OFFLINE_LIMITS_NOTE}`);
    expect(result.summary).not.toContain('\n');
  });

  it('does what it can and says what it cannot', async () => {
    const result = await iterate('make it green and add a calendar');
    expect(result.summary).toBe(`Changed the accent colour to green. ${OFFLINE_LIMITS_NOTE}`);
  });

  it('says when a change is already in place', async () => {
    const dark = await iterate('dark mode');
    const again = await iterate('dark mode', dark.files);
    expect(again.summary).toBe(`"${again.title}" already looks like that, so nothing changed.`);
  });

  it('falls back to the first prompt when the previous files have no usable manifest', async () => {
    const foreign: AppFile[] = [
      { path: 'server.js', content: 'console.log(1)' },
      { path: 'spawnai.json', content: '{"template":"evil","title":"<script>"}' },
    ];
    const result = await iterate('make it red', foreign);
    expect(manifestOf(result.files)).toMatchObject({ template: 'dashboard', options: { accent: 'red' } });
    expect(result.summary).toBe(
      `Rebuilt "${result.title}" as a dashboard with a chart from the offline templates and changed the accent colour to red.`,
    );
  });

  it('never takes a colour or theme from the manifest that is not in its palette', async () => {
    const base = await builder.build(request({ prompt: original }));
    const tampered = base.files.map((f) =>
      f.path === 'spawnai.json'
        ? { ...f, content: f.content.replace('"indigo"', '"red;}</style><script>alert(1)</script>"') }
        : f,
    );
    const result = await iterate('dark mode', tampered);
    expect(file(result.files, 'index.html')).not.toContain('alert(1)');
    expect(manifestOf(result.files).options.accent).toBe('indigo');
  });
});
