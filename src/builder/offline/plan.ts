import type { BuildRequest } from '../types.js';
import { chooseTemplate } from './choose.js';
import { type Manifest, readManifest } from './manifest.js';
import { parseModifiers } from './modifiers.js';
import { DEFAULT_ACCENT } from './palette.js';
import { resourceFromPrompt } from './resource.js';
import { TEMPLATES } from './templates/index.js';
import type { AppSpec } from './templates/types.js';
import { describePrompt, titleFromPrompt } from './title.js';

/** What to render, and the one line that tells the person what happened. */
export interface Plan {
  readonly spec: AppSpec;
  readonly summary: string;
}

export const OFFLINE_LIMITS_NOTE =
  'The offline builder can only change the theme, colour and title; set ANTHROPIC_API_KEY for free-form changes.';

function styleNote(spec: AppSpec): string {
  const parts = [
    ...(spec.theme === 'dark' ? ['dark mode'] : []),
    ...(spec.accent !== DEFAULT_ACCENT ? [`${spec.accent} accent`] : []),
  ];
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function specFromPrompt(prompt: string): AppSpec {
  const modifiers = parseModifiers(prompt);
  return {
    template: chooseTemplate(prompt),
    title: titleFromPrompt(prompt),
    description: describePrompt(prompt),
    theme: modifiers.theme ?? 'light',
    accent: modifiers.accent ?? DEFAULT_ACCENT,
    resource: resourceFromPrompt(prompt),
  };
}

/** A first build: template, title and style all from the prompt. */
export function planFirstBuild(prompt: string): Plan {
  const spec = specFromPrompt(prompt);
  const label = TEMPLATES[spec.template].label;
  return { spec, summary: `Built ${label}, "${spec.title}"${styleNote(spec)}, from the offline templates.` };
}

function specFromManifest(manifest: Manifest, originalPrompt: string): AppSpec {
  return {
    template: manifest.template,
    title: manifest.title,
    description: describePrompt(originalPrompt),
    ...manifest.options,
  };
}

function joinClauses(clauses: readonly string[]): string {
  const text =
    clauses.length > 1 ? `${clauses.slice(0, -1).join(', ')} and ${clauses.at(-1)}` : (clauses[0] ?? '');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/**
 * A follow-up: the previous app (from its `spawnai.json`, else rebuilt from the first prompt)
 * with the theme, accent colour or title the message asks for; anything else is said, not done.
 */
export function planIteration(request: BuildRequest): Plan {
  const manifest = readManifest(request.previousFiles);
  const previous = manifest
    ? specFromManifest(manifest, request.originalPrompt)
    : specFromPrompt(request.originalPrompt);
  const modifiers = parseModifiers(request.prompt);
  const spec: AppSpec = {
    ...previous,
    theme: modifiers.theme ?? previous.theme,
    accent: modifiers.accent ?? previous.accent,
    title: modifiers.title ?? previous.title,
  };

  const changes: string[] = [];
  if (spec.theme !== previous.theme) changes.push(`switched to ${spec.theme} mode`);
  if (spec.accent !== previous.accent) changes.push(`changed the accent colour to ${spec.accent}`);
  if (spec.title !== previous.title) changes.push(`renamed it to "${spec.title}"`);

  const understood = Boolean(modifiers.theme || modifiers.accent || modifiers.title);
  // Without a manifest the previous app was not one of ours (or was damaged): say it was replaced.
  const clauses = manifest
    ? changes
    : [
        `rebuilt "${previous.title}" as ${TEMPLATES[spec.template].label} from the offline templates`,
        ...changes,
      ];
  let summary: string;
  if (clauses.length > 0) summary = `${joinClauses(clauses)}.`;
  else if (understood) summary = `"${spec.title}" already looks like that, so nothing changed.`;
  else summary = `Rebuilt "${spec.title}" unchanged.`;
  const needsNote = !understood || modifiers.unhandled.length > 0;
  return { spec, summary: needsNote ? `${summary} ${OFFLINE_LIMITS_NOTE}` : summary };
}
