import type { AppFile } from '../builder/types.js';
import { createZip } from './zip.js';

export interface ArchiveInfo {
  readonly title: string;
  readonly prompt: string;
  readonly version: number;
  readonly sessionId: string;
}

/** `Climbing Gym Todo` → `climbing-gym-todo`; never empty. */
export function slug(title: string): string {
  const s = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'app';
}

/** How the app starts: its package.json `start` script when it has one (every SpawnAI app does). */
function startCommand(files: readonly AppFile[]): string {
  const pkg = files.find((f) => f.path === 'package.json');
  if (pkg) {
    try {
      const parsed = JSON.parse(pkg.content) as { scripts?: { start?: unknown } };
      if (typeof parsed.scripts?.start === 'string') return 'npm start';
    } catch {
      // Not JSON: fall through to the file it most likely starts from.
    }
  }
  const main = ['server.js', 'index.js', 'app.js', 'main.js'].find((p) => files.some((f) => f.path === p));
  return `node ${main ?? 'server.js'}`;
}

/** The README's name: `README.md` unless the app has one of its own, which is kept as it is. */
export function readmeName(files: readonly AppFile[]): string {
  const taken = new Set(files.map((f) => f.path.toLowerCase()));
  return taken.has('readme.md') ? 'README-SPAWNAI.md' : 'README.md';
}

export function readme(files: readonly AppFile[], info: ArchiveInfo): string {
  const deps = files.some((f) => f.path === 'package.json' && /"dependencies"\s*:\s*\{\s*"/.test(f.content));
  return [
    `# ${info.title}`,
    '',
    `Version ${info.version} of an app built by SpawnAI (app id ${info.sessionId}), exactly as it ran.`,
    '',
    `What was asked for: ${info.prompt.replace(/\s+/g, ' ').trim()}`,
    '',
    '## Start it',
    '',
    'You need Node.js 20 or newer (https://nodejs.org). In this folder:',
    '',
    '```sh',
    ...(deps ? ['npm install'] : []),
    `PORT=3000 ${startCommand(files)}`,
    '```',
    '',
    'Then open http://localhost:3000. The app listens on the port in the `PORT` environment',
    'variable (on Windows: `set PORT=3000` first).',
    '',
  ].join('\n');
}

/** The app's files as they run, plus a README on how to start them, as a zip. */
export function exportZip(files: readonly AppFile[], info: ArchiveInfo): { filename: string; zip: Buffer } {
  const entries = [
    ...files.map((f) => ({ path: f.path, content: f.content })),
    { path: readmeName(files), content: readme(files, info) },
  ];
  return { filename: `${slug(info.title)}-v${info.version}.zip`, zip: createZip(entries) };
}
