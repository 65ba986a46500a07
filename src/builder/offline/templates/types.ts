import type { AppFile } from '../../types.js';
import type { AccentName, Theme } from '../palette.js';

export const TEMPLATE_IDS = ['todo', 'landing', 'notes', 'dashboard', 'rest-api', 'guestbook'] as const;

export type TemplateId = (typeof TEMPLATE_IDS)[number];

/** Everything a template needs to render an app; also what `spawnai.json` records. */
export interface AppSpec {
  readonly template: TemplateId;
  /** Plain text; templates escape it for each context. */
  readonly title: string;
  /** The session's first prompt, cleaned up for page copy. Plain, untrusted text. */
  readonly description: string;
  readonly theme: Theme;
  readonly accent: AccentName;
  /** URL segment of the REST API's resource ("books"); other templates ignore it. */
  readonly resource: string;
}

export interface Template {
  readonly id: TemplateId;
  /** What it is, for a summary: "a todo list". */
  readonly label: string;
  /** The template's own files (server.js and friends); the builder adds package.json and spawnai.json. */
  render(spec: AppSpec): AppFile[];
}
