import { describe, expect, it } from 'vitest';
import { scanFiles } from '../../../../src/builder/deny-list.js';
import type { AppFile, Builder } from '../../../../src/builder/types.js';
import { NO_USAGE } from '../../../../src/builder/types.js';
import { APP_LIMITS, validateApp, withValidation } from '../../../../src/builder/validate.js';

const pkg: AppFile = {
  path: 'package.json',
  content: JSON.stringify({ name: 'a', scripts: { start: 'node server.js' } }),
};
const server: AppFile = {
  path: 'server.js',
  content:
    "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT) || 3000);\n",
};
const good = [pkg, server];

describe('validateApp', () => {
  it('passes a small node app as it is', () => {
    const report = validateApp(good);
    expect(report).toEqual({ files: good, problems: [], findings: [] });
  });

  it('refuses ../../etc/passwd and absolute paths', () => {
    const report = validateApp([
      ...good,
      { path: '../../etc/passwd', content: 'x' },
      { path: '/etc/hosts', content: 'x' },
    ]);
    expect(report.problems).toEqual([
      'path "../../etc/passwd" has a ".." segment',
      'path "/etc/hosts" is absolute',
    ]);
    expect(validateApp([...good, { path: 'C:/x.js', content: '' }]).problems[0]).toContain('drive letter');
    expect(validateApp([...good, { path: 'a\\..\\b', content: '' }]).problems[0]).toContain('backslash');
  });

  it('refuses 5,000 files', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ path: `f/${i}.js`, content: '1' }));
    const report = validateApp([...good, ...many]);
    expect(report.problems).toEqual([`the app has 5002 files; the limit is ${APP_LIMITS.maxFiles}`]);
  });

  it('refuses a 50 MB file, and too many bytes in all', () => {
    const big = { path: 'big.js', content: 'x'.repeat(50 * 1024 * 1024) };
    const report = validateApp([...good, big]);
    expect(report.problems).toEqual([
      '"big.js" is 50.0 MB; a file may be at most 512 KB',
      'the files add up to 50.0 MB; the limit is 2.0 MB',
    ]);
  });

  it('wants package.json with a start script that names one of the files', () => {
    expect(validateApp([server]).problems).toEqual([
      'package.json is missing: add one with "scripts": { "start": "node server.js" }',
    ]);
    expect(validateApp([{ path: 'package.json', content: '{"name": "a"}' }, server]).problems).toEqual([
      'package.json has no "start" script: add "scripts": { "start": "node server.js" }',
    ]);
    expect(validateApp([{ path: 'package.json', content: '{oops' }, server]).problems).toEqual([
      'package.json is not valid JSON',
    ]);
    expect(
      validateApp([{ path: 'package.json', content: '{"scripts": {"start": "node app.js"}}' }, server])
        .problems,
    ).toEqual(['the start script runs "app.js", which is not among the files']);
    // Other start commands are allowed here (a cloud provider may run them); the local provider says no at deploy.
    expect(
      validateApp([{ path: 'package.json', content: '{"scripts": {"start": "next start"}}' }]).problems,
    ).toEqual([]);
  });

  it('adds a tiny server to a static site', () => {
    const report = validateApp([{ path: 'index.html', content: '<h1>hi</h1>' }]);
    expect(report.problems).toEqual([]);
    expect(report.files.map((f) => f.path)).toEqual(['index.html', 'package.json', 'server.js']);
    expect(scanFiles(report.files)).toEqual([]); // our own server passes our own scan
  });

  it('fails on deny-listed patterns and records every finding', () => {
    const bad: AppFile = {
      path: 'lib/evil.js',
      content: [
        "const cp = require('child_process');",
        "fetch('http://169.254.169.254/latest/meta-data/');",
        "const pool = 'stratum+tcp://pool.example:3333';",
        'const key = process.env.SECRET_KEY;',
        'const port = process.env.PORT;',
      ].join('\n'),
    };
    const report = validateApp([...good, bad]);
    expect(report.findings.map((f) => [f.rule, f.line])).toEqual([
      ['process-spawn', 1],
      ['cloud-metadata', 2],
      ['crypto-mining', 3],
      ['env-read', 4],
    ]);
    expect(report.problems).toEqual([
      'lib/evil.js line 1 starts other processes (child_process, cluster or native bindings)',
      'lib/evil.js line 2 contacts a cloud metadata address',
      'lib/evil.js line 3 looks like crypto-currency mining',
    ]);
    expect(report.findings[0]?.excerpt).toBe("const cp = require('child_process');");
  });
});

describe('scanFiles', () => {
  it.each([
    ["import { spawn } from 'node:child_process';", 'process-spawn'],
    ["const c = await import('cluster');", 'process-spawn'],
    ["import cluster from 'node:cluster';", 'process-spawn'],
    ['process.binding("spawn_sync")', 'process-spawn'],
    ['http.get("http://metadata.google.internal/computeMetadata/v1/")', 'cloud-metadata'],
    ['new Worker("xmrig.js")', 'crypto-mining'],
    ['const all = JSON.stringify(process.env);', 'env-read'],
    ["const { TOKEN } = process['env'];", 'env-read'],
  ])('%s -> %s', (line, rule) => {
    expect(scanFiles([{ path: 'a.js', content: line }]).map((f) => f.rule)).toEqual([rule]);
  });

  it.each([
    'const PORT = Number(process.env.PORT) || 3000;',
    "const mode = process.env['NODE_ENV'];",
    '// children process the list',
    "const http = require('node:http');",
    '<option value="cluster">Cluster</option>',
  ])('lets %s pass', (line) => {
    expect(scanFiles([{ path: 'a.js', content: line }])).toEqual([]);
  });
});

describe('withValidation', () => {
  const builderOf = (files: AppFile[]): Builder => ({
    name: 'offline',
    label: 'test',
    build: async () => ({ files, title: 't', summary: 's', usage: NO_USAGE, findings: [] }),
  });
  const request = {
    sessionId: 's',
    buildId: 'b',
    prompt: 'p',
    originalPrompt: 'p',
    budget: { maxOutputTokens: 1, wallTimeMs: 1000 },
    onProgress: () => {},
    signal: new AbortController().signal,
  };

  it('passes a valid build through', async () => {
    expect((await withValidation(builderOf(good)).build(request)).files).toEqual(good);
  });

  it('turns an invalid one into ERR_BUILD_INVALID with the reasons', async () => {
    await expect(withValidation(builderOf([server])).build(request)).rejects.toMatchObject({
      code: 'ERR_BUILD_INVALID',
      userMessage: expect.stringContaining('package.json is missing'),
    });
  });
});
