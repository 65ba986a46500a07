import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { fetchPreview } from './preview.js';

/** Every file under `dir`, by path relative to it ('/' separated). */
function filesUnder(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(full).isDirectory()) for (const [p, c] of filesUnder(full, rel)) out.set(p, c);
    else out.set(rel, readFileSync(full, 'utf8'));
  }
  return out;
}

/**
 * Downloads an export link as a browser would and unpacks it with the system's `unzip` (which
 * checks every CRC): the files of the zip, by path.
 */
export async function downloadExport(url: string): Promise<{ filename: string; files: Map<string, string> }> {
  const res = await fetchPreview(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/zip');
  const filename = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? '';
  const dir = mkdtempSync(path.join(tmpdir(), 'spawnai-export-'));
  try {
    const zip = path.join(dir, 'app.zip');
    writeFileSync(zip, Buffer.from(await res.arrayBuffer()));
    execFileSync('unzip', ['-q', zip, '-d', path.join(dir, 'out')]);
    return { filename, files: filesUnder(path.join(dir, 'out')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The files of the app running now on the local provider, from its folder. */
export function liveAppFiles(dataDir: string, sessionId: string): Map<string, string> {
  return filesUnder(path.join(dataDir, 'apps', sessionId, 'app'));
}

/**
 * The export has the running app's files, byte for byte, plus a README on how to start it.
 * The app's folder may hold files the provider adds to run it: only the app's own are compared.
 */
export function expectExportOfLiveApp(
  exported: Map<string, string>,
  dataDir: string,
  sessionId: string,
): void {
  const live = liveAppFiles(dataDir, sessionId);
  const readme = exported.get('README.md') ?? exported.get('README-SPAWNAI.md');
  expect(readme).toMatch(/## Start it[\s\S]*npm start/);
  const own = [...exported.keys()].filter((p) => p !== 'README.md' && p !== 'README-SPAWNAI.md');
  expect(own.length).toBeGreaterThan(1);
  for (const p of own) expect(exported.get(p), p).toBe(live.get(p));
}
