/**
 * Writes `.env.example` from the config schema, so it always lists every variable with its
 * comment and default. `npm run env:example`; a unit test fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VARS } from '../src/config/schema.js';

export function renderEnvExample(): string {
  const lines = [
    '# SpawnAI configuration. Every variable is optional on a fresh machine:',
    '# unset, SpawnAI runs on embedded defaults (PGlite, local Redis, offline builder, local provider).',
    '# Generated from src/config/schema.ts by `npm run env:example`.',
  ];
  let group = '';
  for (const [name, spec] of Object.entries(VARS)) {
    if (spec.group !== group) {
      group = spec.group;
      lines.push('', `# --- ${group} ---`);
    }
    const secret = spec.secret ? ' (secret)' : '';
    lines.push(`# ${spec.doc}${secret}. Expected: ${spec.expected}.`);
    lines.push(spec.example === '' ? `# ${name}=` : `${name}=${spec.example}`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.env.example');
  writeFileSync(target, renderEnvExample());
  process.stdout.write(`wrote ${target}\n`);
}
