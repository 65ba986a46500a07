import { z } from 'zod';
import type { AppFile } from '../types.js';
import { ACCENT_NAMES, type AccentName } from './palette.js';
import { RESOURCE_PATTERN } from './resource.js';
import type { AppSpec } from './templates/types.js';
import { TEMPLATE_IDS } from './templates/types.js';
import { slugify } from './title.js';

/**
 * `spawnai.json`, written into every offline app, records the template and options so a
 * follow-up message can rebuild the same app with a change. It is read back from the previous
 * build's files, which are not trusted: anything that does not fit the schema is ignored.
 */
export const MANIFEST_PATH = 'spawnai.json';
export const MANIFEST_GENERATOR = 'spawnai-offline';

const manifestSchema = z.object({
  generator: z.literal(MANIFEST_GENERATOR),
  version: z.literal(1),
  template: z.enum(TEMPLATE_IDS),
  title: z.string().trim().min(1).max(200),
  options: z.object({
    theme: z.enum(['light', 'dark']),
    accent: z.enum(ACCENT_NAMES as [AccentName, ...AccentName[]]),
    resource: z.string().regex(RESOURCE_PATTERN),
  }),
});

export type Manifest = z.infer<typeof manifestSchema>;

export function manifestFile(spec: AppSpec): AppFile {
  const manifest: Manifest = {
    generator: MANIFEST_GENERATOR,
    version: 1,
    template: spec.template,
    title: spec.title,
    options: { theme: spec.theme, accent: spec.accent, resource: spec.resource },
  };
  return { path: MANIFEST_PATH, content: `${JSON.stringify(manifest, null, 2)}\n` };
}

/** The manifest among a previous build's files, or undefined if missing or not ours. */
export function readManifest(files: readonly AppFile[] | undefined): Manifest | undefined {
  const file = files?.find((f) => f.path === MANIFEST_PATH || f.path === `./${MANIFEST_PATH}`);
  if (!file) return undefined;
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(file.content));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A package.json with a start script and no dependencies. */
export function packageJsonFile(spec: AppSpec): AppFile {
  const pkg = {
    name: slugify(spec.title),
    version: '1.0.0',
    private: true,
    description: spec.title,
    type: 'module',
    scripts: { start: 'node server.js' },
    engines: { node: '>=20' },
  };
  return { path: 'package.json', content: `${JSON.stringify(pkg, null, 2)}\n` };
}
