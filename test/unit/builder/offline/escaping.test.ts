import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { escapeHtml, jsLiteral } from '../../../../src/builder/offline/escape.js';
import { createOfflineBuilder } from '../../../../src/builder/offline/index.js';
import type { BuildRequest } from '../../../../src/builder/types.js';

const HOSTILE = `</script><script>alert(1)</script> "double" 'single' & <img src=x onerror=alert(2)> \u2028 \${x} \`tick\``;

const PROMPTS = [
  `a todo list ${HOSTILE}`,
  `a landing page ${HOSTILE}`,
  `a blog ${HOSTILE}`,
  `a dashboard ${HOSTILE}`,
  `an API for books ${HOSTILE}`,
  `a guestbook ${HOSTILE}`,
  `a todo list called ${HOSTILE}`,
];

function request(prompt: string): BuildRequest {
  return {
    sessionId: 's',
    buildId: 'b',
    prompt,
    originalPrompt: prompt,
    budget: { maxOutputTokens: 1, wallTimeMs: 1 },
    onProgress: () => {},
    signal: new AbortController().signal,
  };
}

describe('escapeHtml and jsLiteral', () => {
  it('escape every character that can end a context', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    const literal = jsLiteral({ s: '</script>\u2028&' });
    expect(literal).toBe('{"s":"\\u003c/script\\u003e\\u2028\\u0026"}');
    expect(JSON.parse(literal)).toEqual({ s: '</script>\u2028&' });
  });
});

describe('hostile prompts', () => {
  const builder = createOfflineBuilder();
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it.each(PROMPTS)('cannot break out of any context: %s', async (prompt) => {
    const result = await builder.build(request(prompt));
    const byPath = new Map(result.files.map((f) => [f.path, f.content]));

    // JSON files parse, and carry the title as it was.
    expect(JSON.parse(byPath.get('spawnai.json') ?? '').title).toBe(result.title);
    expect(JSON.parse(byPath.get('package.json') ?? '').name).toMatch(/^[a-z0-9-]+$/);

    const html = byPath.get('index.html');
    if (html !== undefined) {
      expect(html).not.toContain('alert(1)</script>');
      expect(html).not.toContain('<img');
      expect(html.match(/<script/g)).toHaveLength(1);
      expect(html.match(/<\/script>/g)).toHaveLength(1);
      expect(html).toContain(`<title>${escapeHtml(result.title)}</title>`);
      expect(html).toContain(`<h1 id="app-title">${escapeHtml(result.title)}</h1>`);
      // The one inline script is exactly the one the policy allows.
      const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
      const hash = createHash('sha256').update(script).digest('base64');
      expect(html).toContain(`script-src 'sha256-${hash}'`);
    }

    // server.js still parses and holds the title only as a JS string.
    const server = byPath.get('server.js') ?? '';
    expect(server).not.toContain('</script>');
    const dir = mkdtempSync(path.join(tmpdir(), 'spawnai-escape-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'package.json'), byPath.get('package.json') ?? '');
    writeFileSync(path.join(dir, 'server.js'), server);
    expect(() => execFileSync(process.execPath, ['--check', path.join(dir, 'server.js')])).not.toThrow();
    const titleLine = /^const TITLE = (.*);$/m.exec(server)?.[1] ?? '';
    expect(JSON.parse(titleLine)).toBe(result.title);
  });
});
