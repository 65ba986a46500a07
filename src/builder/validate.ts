import { SpawnError } from '../errors.js';
import { validateAppPath } from '../lib/bundle-codec.js';
import { describeFinding, isBlocking, scanFiles } from './deny-list.js';
import { isStaticSite, staticServerFiles } from './static-server.js';
import type { AppFile, Builder, BuildFinding, BuildRequest, BuildResult } from './types.js';

/** Size limits of a generated app; well inside the bundle store's own limits. */
export interface AppLimits {
  /** Most files. */
  readonly maxFiles: number;
  /** Largest single file, in UTF-8 bytes. */
  readonly maxFileBytes: number;
  /** Largest sum of all files, in UTF-8 bytes. */
  readonly maxTotalBytes: number;
}

/** Default {@link AppLimits}: a chat-sized app, far below what the bundle store accepts. */
export const APP_LIMITS: AppLimits = Object.freeze({
  maxFiles: 100,
  maxFileBytes: 512 * 1024,
  maxTotalBytes: 2 * 1024 * 1024,
});

/** Problems listed in one report; past this the list says how many more there were. */
const PROBLEMS_MAX = 10;

export interface ValidationReport {
  /** The files to store: the input, plus package.json and a tiny server for a static site. */
  readonly files: readonly AppFile[];
  /** Why the app cannot be stored, safe to show to a person and to the model; empty when it passed. */
  readonly problems: readonly string[];
  /** Deny-list matches (blocking or not), to record on the build. */
  readonly findings: readonly BuildFinding[];
}

/** A path problem in words, or undefined for a safe relative path. */
export function pathProblem(p: string): string | undefined {
  try {
    validateAppPath(p);
    return undefined;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return message.replace(/^invalid app bundle: /, '');
  }
}

/** Why a file of `bytes` cannot be added to an app of `fileCount` files, or undefined. */
export function sizeProblem(path: string, bytes: number, limits: AppLimits = APP_LIMITS): string | undefined {
  if (bytes > limits.maxFileBytes) {
    return `${JSON.stringify(path)} is ${formatBytes(bytes)}; a file may be at most ${formatBytes(limits.maxFileBytes)}`;
  }
  return undefined;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** A start-script check matching what the local provider can run, in words for the model. */
const NODE_START = /^(?:exec\s+)?(?:NODE_ENV=production\s+)?node\s+([A-Za-z0-9_@.\-/]+)$/;

function packageProblems(files: readonly AppFile[], paths: ReadonlySet<string>): string[] {
  const pkgFile = files.find((f) => f.path === 'package.json');
  if (!pkgFile) {
    return ['package.json is missing: add one with "scripts": { "start": "node server.js" }'];
  }
  let pkg: unknown;
  try {
    pkg = JSON.parse(pkgFile.content);
  } catch {
    return ['package.json is not valid JSON'];
  }
  if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg))
    return ['package.json is not a JSON object'];
  const scripts = (pkg as { scripts?: unknown }).scripts;
  const start =
    typeof scripts === 'object' && scripts !== null ? (scripts as { start?: unknown }).start : undefined;
  if (typeof start !== 'string' || start.trim() === '') {
    return ['package.json has no "start" script: add "scripts": { "start": "node server.js" }'];
  }
  const match = NODE_START.exec(start.trim());
  const target = match?.[1]?.replace(/^(\.\/)+/, '');
  if (target && target !== '.' && !['', '.js', '.mjs', '.cjs'].some((ext) => paths.has(`${target}${ext}`))) {
    return [`the start script runs ${JSON.stringify(target)}, which is not among the files`];
  }
  return [];
}

/**
 * Checks a generated app before anything is stored: safe relative paths, no duplicates, the
 * size limits, a package.json with a start script (a static site gets a tiny server), and
 * the deny-list. Never throws; the caller decides what a failed report means.
 */
export function validateApp(files: readonly AppFile[], limits: AppLimits = APP_LIMITS): ValidationReport {
  const problems: string[] = [];
  if (files.length === 0) {
    return { files, problems: ['the app has no files'], findings: [] };
  }
  if (files.length > limits.maxFiles) {
    problems.push(`the app has ${files.length} files; the limit is ${limits.maxFiles}`);
  }
  const paths = new Set<string>();
  let total = 0;
  for (const file of files) {
    const bad = pathProblem(file.path);
    if (bad) problems.push(bad);
    else if (paths.has(file.path)) problems.push(`${JSON.stringify(file.path)} appears twice`);
    paths.add(file.path);
    const bytes = Buffer.byteLength(file.content);
    total += bytes;
    const big = sizeProblem(file.path, bytes, limits);
    if (big) problems.push(big);
  }
  if (total > limits.maxTotalBytes) {
    problems.push(
      `the files add up to ${formatBytes(total)}; the limit is ${formatBytes(limits.maxTotalBytes)}`,
    );
  }

  let out = files;
  if (isStaticSite(files)) {
    out = [...files, ...staticServerFiles('static-site')];
  } else {
    problems.push(...packageProblems(files, paths));
  }

  const findings = scanFiles(files);
  for (const finding of findings.filter(isBlocking)) problems.push(describeFinding(finding));

  const shown =
    problems.length > PROBLEMS_MAX
      ? [...problems.slice(0, PROBLEMS_MAX), `and ${problems.length - PROBLEMS_MAX} more problems`]
      : problems;
  return { files: out, problems: shown, findings };
}

/** One line for a person: "The generated app did not pass validation: a; b." */
export function invalidAppMessage(problems: readonly string[]): string {
  const text = problems.slice(0, 3).join('; ');
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  return `The generated app did not pass validation: ${text}${more}.`;
}

/**
 * Wraps a builder (the offline one) so its output passes the same checks as Claude's before
 * it is stored. A failure is `ERR_BUILD_INVALID` with the reasons.
 */
export function withValidation(builder: Builder, limits: AppLimits = APP_LIMITS): Builder {
  return {
    name: builder.name,
    label: builder.label,
    async build(request: BuildRequest): Promise<BuildResult> {
      const result = await builder.build(request);
      const report = validateApp(result.files, limits);
      if (report.problems.length > 0) {
        throw new SpawnError('ERR_BUILD_INVALID', invalidAppMessage(report.problems));
      }
      return { ...result, files: report.files, findings: [...result.findings, ...report.findings] };
    },
  };
}
