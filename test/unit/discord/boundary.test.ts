import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = path.resolve(import.meta.dirname, '../../../adapters/discord');
const SDK = /^(discord\.js|@discordjs\/|discord-api-types)/;

/** Runtime imports of a module and, recursively, of the relative modules it imports. */
function runtimeImports(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
  ].map((m) => m[1]!);
  return specifiers.flatMap((s) =>
    s.startsWith('.')
      ? [s, ...runtimeImports(path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')), seen)]
      : [s],
  );
}

describe('the Discord webhook path loads no Discord SDK', () => {
  it.each(['routes.ts', 'verify.ts', 'parse.ts'])('%s', (file) => {
    const imports = runtimeImports(path.join(DIR, file));
    expect(imports.filter((s) => SDK.test(s))).toEqual([]);
    expect(imports).not.toContain('./connection.js');
  });

  it('discord.js is loaded only where the gateway connects', () => {
    const index = readFileSync(path.join(DIR, 'index.ts'), 'utf8');
    expect(index).not.toMatch(/^import[^;]*from '\.\/connection\.js'/m);
    expect(runtimeImports(path.join(DIR, 'index.ts'))).not.toContain('discord.js');
    expect(runtimeImports(path.join(DIR, 'connection.ts'))).toContain('discord.js');
  });
});
