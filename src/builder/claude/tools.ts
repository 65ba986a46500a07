import type { Tool } from '@anthropic-ai/sdk/resources/messages';
import { z } from 'zod';
import type { AppFile, BuildFinding } from '../types.js';
import { type AppLimits, formatBytes, pathProblem, sizeProblem } from '../validate.js';

/** Longest title and summary kept from `finish`. */
const TITLE_MAX_CHARS = 80;
const SUMMARY_MAX_CHARS = 300;

/**
 * The tools Claude writes the app through. Part of the cached prefix and of the prompt
 * version: bump PROMPT_VERSION when they change.
 */
export const TOOLS: readonly Tool[] = [
  {
    name: 'write_file',
    description:
      'Create or replace one file of the app with its complete content. Paths are relative, with forward slashes (server.js, public/app.js).',
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'Relative path of the file, e.g. public/index.html' },
        planned_files: {
          type: 'integer',
          minimum: 1,
          description: 'How many files you expect to write for this request in total (an estimate).',
        },
        content: { type: 'string', description: 'The complete content of the file (UTF-8 text).' },
      },
      required: ['path', 'content'],
    },
  },
  {
    name: 'delete_file',
    description: 'Remove one file of the app.',
    input_schema: {
      type: 'object',
      properties: { path: { type: 'string', description: 'Relative path of the file to remove.' } },
      required: ['path'],
    },
  },
  {
    name: 'finish',
    description:
      'Call once every file is written. The app is checked and, if it passes, started for the person who asked.',
    input_schema: {
      type: 'object',
      properties: {
        title: { type: 'string', description: 'Short title of the app, 2 to 5 words.' },
        summary: { type: 'string', description: 'One line on what was built or changed.' },
      },
      required: ['title', 'summary'],
    },
  },
];

const writeSchema = z.object({
  path: z.string(),
  content: z.string(),
  planned_files: z.number().int().positive().optional(),
});
const deleteSchema = z.object({ path: z.string() });
const finishSchema = z.object({ title: z.string(), summary: z.string() });

export type ToolCall =
  | {
      readonly tool: 'write_file';
      readonly path: string;
      readonly content: string;
      readonly plannedFiles?: number;
    }
  | { readonly tool: 'delete_file'; readonly path: string }
  | { readonly tool: 'finish'; readonly title: string; readonly summary: string };

export type ParsedToolCall =
  | { readonly ok: true; readonly call: ToolCall }
  | { readonly ok: false; readonly error: string };

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * Parses a tool call's streamed input strictly. The SDK's own accumulation parses partial
 * JSON leniently (a cut-off `content` string would come back as a shorter file); here the
 * whole input must be valid JSON matching the tool's schema.
 */
export function parseToolCall(name: string, json: string): ParsedToolCall {
  let input: unknown;
  try {
    input = JSON.parse(json === '' ? '{}' : json);
  } catch {
    return {
      ok: false,
      error: `The input of this ${name} call was not valid JSON (it may have been cut off); nothing was done. Call it again.`,
    };
  }
  switch (name) {
    case 'write_file': {
      const r = writeSchema.safeParse(input);
      if (!r.success) return { ok: false, error: 'write_file needs {"path": string, "content": string}.' };
      return {
        ok: true,
        call: {
          tool: 'write_file',
          path: r.data.path,
          content: r.data.content,
          ...(r.data.planned_files ? { plannedFiles: r.data.planned_files } : {}),
        },
      };
    }
    case 'delete_file': {
      const r = deleteSchema.safeParse(input);
      if (!r.success) return { ok: false, error: 'delete_file needs {"path": string}.' };
      return { ok: true, call: { tool: 'delete_file', path: r.data.path } };
    }
    case 'finish': {
      const r = finishSchema.safeParse(input);
      if (!r.success) return { ok: false, error: 'finish needs {"title": string, "summary": string}.' };
      return {
        ok: true,
        call: {
          tool: 'finish',
          title: oneLine(r.data.title, TITLE_MAX_CHARS),
          summary: oneLine(r.data.summary, SUMMARY_MAX_CHARS),
        },
      };
    }
    default:
      return { ok: false, error: `There is no tool named ${JSON.stringify(oneLine(name, 40))}.` };
  }
}

/** The app's files while Claude writes them. Refuses unsafe paths and oversize files at once. */
export class Workspace {
  private readonly files = new Map<string, string>();
  /** Refused unsafe paths, recorded on the build. */
  readonly refusals: BuildFinding[] = [];

  constructor(
    private readonly limits: AppLimits,
    initial: readonly AppFile[] = [],
  ) {
    for (const f of initial) this.files.set(f.path, f.content);
  }

  /** Applies a write; returns the tool result text and whether it was an error. */
  write(path: string, content: string): { text: string; isError: boolean } {
    const bad = pathProblem(path);
    if (bad) {
      if (this.refusals.length < 20) {
        this.refusals.push({ rule: 'unsafe-path', path: oneLine(path, 200), excerpt: bad });
      }
      return { text: `Refused: ${bad}. Use a relative path inside the app folder.`, isError: true };
    }
    const bytes = Buffer.byteLength(content);
    const big = sizeProblem(path, bytes, this.limits);
    if (big) return { text: `Refused: ${big}. Split it or make it smaller.`, isError: true };
    if (!this.files.has(path) && this.files.size >= this.limits.maxFiles) {
      return {
        text: `Refused: the app already has ${this.limits.maxFiles} files, the limit.`,
        isError: true,
      };
    }
    this.files.set(path, content);
    return { text: `Wrote ${path} (${formatBytes(bytes)}).`, isError: false };
  }

  delete(path: string): { text: string; isError: boolean } {
    if (!this.files.delete(path)) return { text: `There is no file ${JSON.stringify(path)}.`, isError: true };
    return { text: `Deleted ${path}.`, isError: false };
  }

  list(): AppFile[] {
    return [...this.files.entries()]
      .map(([path, content]) => ({ path, content }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}
