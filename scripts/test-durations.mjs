// Writes test/durations.json (seconds per test file) from Vitest's record of the last run, for
// test/sequencer.ts to start the longest files first in a fresh clone. Run after a full
// `npm run test:suite` on a machine like CI's.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cacheRoot = path.join(root, '.cache/vite/vitest');
const durations = {};
for (const dir of readdirSync(cacheRoot)) {
  let results;
  try {
    results = JSON.parse(readFileSync(path.join(cacheRoot, dir, 'results.json'), 'utf8')).results;
  } catch {
    continue;
  }
  for (const [key, value] of results) {
    const file = key.slice(key.indexOf(':') + 1);
    if (value?.duration > 0) durations[file] = Math.round(value.duration / 100) / 10;
  }
}
const sorted = Object.fromEntries(Object.entries(durations).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(path.join(root, 'test/durations.json'), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);
