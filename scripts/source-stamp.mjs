// The fingerprint of the sources that `npm run build` compiled into dist/, so tests that run the
// compiled CLI can tell whether dist/ is current. `write` records it after a build; `check`
// exits 1 when dist/ is missing or was built from other sources.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const STAMP = path.join(root, 'dist', '.sources.sha256');
const INPUTS = ['src', 'adapters', 'bots'];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];

function files(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(full));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

export function sourcesHash() {
  const hash = createHash('sha256');
  const all = [
    ...INPUTS.flatMap((d) => files(path.join(root, d))),
    ...CONFIGS.map((f) => path.join(root, f)),
  ];
  for (const file of all.sort()) {
    hash.update(path.relative(root, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

export function distIsCurrent() {
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === sourcesHash();
}

export function writeStamp() {
  writeFileSync(STAMP, `${sourcesHash()}\n`);
}

if (process.argv[1] === import.meta.filename) {
  const command = process.argv[2];
  if (command === 'write') writeStamp();
  else if (command === 'check') process.exit(distIsCurrent() ? 0 : 1);
  else {
    process.stderr.write('usage: node scripts/source-stamp.mjs write|check\n');
    process.exit(2);
  }
}
