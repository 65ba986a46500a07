import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** Every module a file loads, following our own relative imports (type-only imports are erased, so not counted). */
function imports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/g)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) imports(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')), seen);
    else seen.add(spec);
  }
  return seen;
}

describe('slack webhook path boundary', () => {
  it.each(['verify.ts', 'parse.ts', 'render.ts', 'ingest.ts', 'routes.ts'])(
    '%s imports no platform SDK, no worker, no Claude client',
    (f) => {
      const all = [...imports(path.join(ROOT, 'adapters', 'slack', f))];
      expect(all.filter((s) => s.startsWith('@slack/'))).toEqual([]);
      expect(
        all.filter((s) => /src\/(worker|build|provision)\//.test(s) || s.startsWith('@anthropic-ai')),
      ).toEqual([]);
    },
  );
});
