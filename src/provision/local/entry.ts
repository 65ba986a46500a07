import type { AppFile } from '../../builder/types.js';
import { SpawnError } from '../../errors.js';
import { validateAppPath } from '../../lib/bundle-codec.js';

/** Files tried, in order, when package.json names no start file. */
export const DEFAULT_ENTRIES = ['server.js', 'index.js'] as const;

/**
 * Start scripts the local provider understands: `node <file>`, optionally after `exec` or
 * `NODE_ENV=production`, with no flags. `node .` means package.json's `main`.
 */
const START_SCRIPT = /^(?:exec\s+)?(?:NODE_ENV=production\s+)?node\s+([A-Za-z0-9_@.\-/]+)$/;
const EXTENSIONS = ['', '.js', '.mjs', '.cjs'];

function failed(reason: string): SpawnError {
  return new SpawnError('ERR_DEPLOY_FAILED', `The app could not be started: ${reason}`);
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine);
}

/** Resolves `file` (relative to the app folder) the way `node <file>` would, among the bundle's files. */
function resolveFile(file: string, paths: ReadonlySet<string>): string | undefined {
  const clean = file.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  try {
    validateAppPath(clean);
  } catch {
    return undefined;
  }
  for (const ext of EXTENSIONS) {
    if (paths.has(`${clean}${ext}`)) return `${clean}${ext}`;
  }
  if (paths.has(`${clean}/index.js`)) return `${clean}/index.js`;
  return undefined;
}

interface PackageJson {
  readonly scripts?: { readonly start?: unknown };
  readonly main?: unknown;
  readonly dependencies?: unknown;
}

function parsePackageJson(files: readonly AppFile[]): PackageJson | undefined {
  const file = files.find((f) => f.path === 'package.json');
  if (!file) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(file.content);
  } catch {
    throw failed('package.json is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw failed('package.json is not a JSON object.');
  }
  return parsed as PackageJson;
}

/**
 * Finds the file the local provider starts with `node <file>`: package.json's
 * `scripts.start` (when it is `node <file>`), else its `main`, else `server.js` or `index.js`.
 *
 * @returns the file's path relative to the app folder.
 * @throws SpawnError `ERR_DEPLOY_FAILED` with a reason a person can act on: a start script
 * of another form, npm dependencies (the local provider cannot install them), no start file.
 */
export function findStartEntry(files: readonly AppFile[]): string {
  const paths = new Set(files.map((f) => f.path));
  const pkg = parsePackageJson(files);

  const deps = pkg?.dependencies;
  if (deps !== undefined && deps !== null && typeof deps === 'object' && Object.keys(deps).length > 0) {
    const names = Object.keys(deps).slice(0, 5).join(', ');
    throw failed(
      `it depends on npm packages (${names}), and the local provider has no network access to install them; ` +
        'it runs apps that use only Node built-in modules.',
    );
  }

  const start = pkg?.scripts?.start;
  if (start !== undefined) {
    if (typeof start !== 'string') throw failed('package.json scripts.start is not a string.');
    const match = START_SCRIPT.exec(start.trim());
    if (!match) {
      throw failed(
        `the local provider runs \`node <file>\` start scripts only, and this app's is ${shorten(start)}.`,
      );
    }
    const target = match[1]!;
    if (target !== '.') {
      const entry = resolveFile(target, paths);
      if (!entry)
        throw failed(`the start script runs ${shorten(target)}, which is not among the app's files.`);
      return entry;
    }
  }

  const main = pkg?.main;
  if (typeof main === 'string' && main.length > 0) {
    const entry = resolveFile(main, paths);
    if (!entry) throw failed(`package.json main is ${shorten(main)}, which is not among the app's files.`);
    return entry;
  }

  for (const candidate of DEFAULT_ENTRIES) {
    if (paths.has(candidate)) return candidate;
  }
  throw failed(
    'it has no start file: add package.json with "scripts": { "start": "node server.js" }, or a server.js.',
  );
}
