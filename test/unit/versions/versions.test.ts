import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCustomId } from '../../../adapters/discord/parse.js';
import { parseCallbackData } from '../../../adapters/telegram/render.js';
import { parseCommand } from '../../../bots/commands.js';
import { actionTarget, parseActionTarget } from '../../../src/core/view.js';
import { exportZip, readmeName } from '../../../src/versions/archive.js';
import { ExportLinks } from '../../../src/versions/export-link.js';
import { crc32 } from '../../../src/versions/zip.js';

describe('versions commands', () => {
  it.each([
    ['/versions', { kind: 'versions' }],
    ['/spawn versions k7fq2m9xwd', { kind: 'versions', sessionId: 'k7fq2m9xwd' }],
    ['/rollback 2', { kind: 'rollback', version: 2 }],
    ['/spawn rollback v3 k7fq2m9xwd', { kind: 'rollback', version: 3, sessionId: 'k7fq2m9xwd' }],
    ['/spawn rollback the colours', { kind: 'spawn', prompt: 'rollback the colours' }],
    ['/rollback', { kind: 'unknown', name: 'rollback' }],
    ['/rollback 0', { kind: 'unknown', name: 'rollback 0' }],
    ['/export', { kind: 'export' }],
    ['/spawn export', { kind: 'export' }],
  ])('%j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it.each([
    ['versions', { kind: 'versions' }],
    ['rollback 1', { kind: 'rollback', version: 1 }],
    ['export', { kind: 'export' }],
    ['export my notes to csv', { kind: 'message', text: 'export my notes to csv' }],
    ['rollback the last change', { kind: 'message', text: 'rollback the last change' }],
  ])('bare word %j in a one-to-one chat', (text, expected) => {
    expect(parseCommand(text, { bareWords: true })).toEqual(expected);
  });
});

describe('Undo buttons carry their version on every platform', () => {
  it('round-trips session and version', () => {
    expect(actionTarget({ sessionId: 'k7fq2m9xwd', version: 2 })).toBe('k7fq2m9xwd.2');
    expect(parseActionTarget('k7fq2m9xwd.2')).toEqual({ sessionId: 'k7fq2m9xwd', version: 2 });
    expect(parseActionTarget('k7fq2m9xwd.x')).toBeUndefined();
    expect(parseCustomId('undo:k7fq2m9xwd.2')).toEqual({
      action: 'undo',
      sessionId: 'k7fq2m9xwd',
      version: 2,
    });
    expect(parseCustomId('undo:k7fq2m9xwd')).toBeUndefined();
    expect(parseCustomId('stop:k7fq2m9xwd.2')).toBeUndefined();
    expect(parseCallbackData('undo:k7fq2m9xwd.3')).toEqual({
      action: 'undo',
      sessionId: 'k7fq2m9xwd',
      version: 3,
    });
    expect(parseCallbackData('export:k7fq2m9xwd')).toEqual({ action: 'export', sessionId: 'k7fq2m9xwd' });
  });
});

describe('export links', () => {
  const links = new ExportLinks('secret-0123456789', 'https://spawn.example');
  it('accepts its own link until it expires, and nothing forged', () => {
    const now = Date.now();
    const { url, expiresAt } = links.create({ sessionId: 'k7fq2m9xwd', version: 4 }, now);
    const token = url.split('/export/')[1]!;
    expect(links.verify(token, now)).toEqual({ sessionId: 'k7fq2m9xwd', version: 4 });
    expect(links.verify(token, expiresAt.getTime() + 1)).toBeUndefined();
    expect(new ExportLinks('another-secret-000', 'https://spawn.example').verify(token, now)).toBeUndefined();
    const [payload, mac] = token.split('.');
    const other = Buffer.from(JSON.stringify({ s: 'k7fq2m9xwd', v: 1, e: now + 1e9 })).toString('base64url');
    expect(links.verify(`${other}.${mac}`, now)).toBeUndefined();
    expect(links.verify(`${payload}.${mac}x`, now)).toBeUndefined();
  });
});

describe('the export zip', () => {
  it('has a CRC-32 as zip defines it', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('unzips with the system unzip to the same files plus a README', () => {
    const files = [
      { path: 'server.js', content: 'console.log("héllo")\n' },
      { path: 'public/index.html', content: '<h1>Hi</h1>' },
      { path: 'package.json', content: '{"scripts":{"start":"node server.js"}}' },
    ];
    const { filename, zip } = exportZip(files, {
      title: 'Crux Crew!',
      prompt: 'a todo',
      version: 3,
      sessionId: 'k7fq2m9xwd',
    });
    expect(filename).toBe('crux-crew-v3.zip');
    const dir = mkdtempSync(path.join(tmpdir(), 'spawnai-zip-'));
    try {
      writeFileSync(path.join(dir, 'a.zip'), zip);
      execFileSync('unzip', ['-q', path.join(dir, 'a.zip'), '-d', path.join(dir, 'out')]);
      for (const f of files) expect(readFileSync(path.join(dir, 'out', f.path), 'utf8')).toBe(f.content);
      expect(readFileSync(path.join(dir, 'out', 'README.md'), 'utf8')).toContain('PORT=3000 npm start');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readmeName([{ path: 'README.md', content: '' }])).toBe('README-SPAWNAI.md');
  });
});
