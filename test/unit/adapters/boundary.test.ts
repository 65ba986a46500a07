import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLATFORMS } from '../../../src/core/platform.js';

const ADAPTERS = path.resolve(import.meta.dirname, '../../../adapters');

/** Every platform's SDK: a webhook path loads none of them, its own or another's. */
const SDK = /^(@slack\/|discord\.js$|@discordjs\/|discord-api-types|grammy|@grammyjs\/)/;
/** Nor the heavy work that belongs on the queue. */
const HEAVY = /(^@anthropic-ai\/)|(src\/(worker|build|provision)\/)/;

/** The inbound routes each platform registers (DESIGN.md "Routes"). */
const WEBHOOK_ROUTES: Record<(typeof PLATFORMS)[number], readonly string[]> = {
  slack: ['/slack/events'],
  discord: ['/discord/interactions'],
  telegram: ['/telegram/webhook'],
  web: ['/api/web/messages', '/api/web/actions'],
};

/** Runtime imports of a module and, recursively, of the relative modules it imports (type-only ones are erased). */
function runtimeImports(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers.flatMap((s) => {
    if (!s.startsWith('.')) return [s];
    const resolved = path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts'));
    return [path.relative(path.resolve(ADAPTERS, '..'), resolved), ...runtimeImports(resolved, seen)];
  });
}

/**
 * The webhook path of a platform folder: the modules that register its inbound routes (a
 * `.post(` or `.register(` naming the route, as a literal or through a constant of the folder
 * that holds it, wherever a refactor moves them), and its verify / parse / normalize modules.
 */
function webhookPath(platform: string): string[] {
  const dir = path.join(ADAPTERS, platform);
  const sources = new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => [f, readFileSync(path.join(dir, f), 'utf8')] as const),
  );
  const routes = WEBHOOK_ROUTES[platform as keyof typeof WEBHOOK_ROUTES];
  const names = [...sources.values()].flatMap((source) =>
    [...source.matchAll(/export const (\w+)\s*=\s*'([^']+)'/g)]
      .filter((m) => routes.includes(m[2]!))
      .map((m) => m[1]!),
  );
  const registers = [...sources]
    .filter(
      ([, source]) =>
        /\.(post|register)\(/.test(source) &&
        (routes.some((r) => source.includes(`'${r}'`)) ||
          names.some((n) => new RegExp(`\\b${n}\\b`).test(source))),
    )
    .map(([f]) => f);
  const parsers = [...sources.keys()].filter((f) => /^(verify|parse|normalize)\.ts$/.test(f));
  return [...new Set([...registers, ...parsers])];
}

describe('every platform folder: the webhook path loads no platform SDK, no worker, no Claude client', () => {
  it('knows every platform', () => {
    expect(Object.keys(WEBHOOK_ROUTES).sort()).toEqual([...PLATFORMS].sort());
    expect(
      readdirSync(ADAPTERS, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort(),
    ).toEqual([...PLATFORMS].sort());
  });

  describe.each([...PLATFORMS])('%s', (platform) => {
    const files = webhookPath(platform);

    it('has a module that registers its inbound route', () => {
      const routes = files.filter((f) => !/^(verify|parse|normalize)\.ts$/.test(f));
      expect(routes.length).toBeGreaterThan(0);
    });

    it.each(files)('%s', (file) => {
      const imports = runtimeImports(path.join(ADAPTERS, platform, file));
      expect(imports.filter((s) => SDK.test(s))).toEqual([]);
      expect(imports.filter((s) => HEAVY.test(s))).toEqual([]);
    });
  });
});
