import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Small, dependency-free readers of our own TypeScript sources for the architecture tests:
 * good enough for code that passes biome, not a TypeScript parser.
 */

/** The folders whose code ships: `src`, `adapters`, `bots`. */
export const SOURCE_ROOTS = ['src', 'adapters', 'bots'] as const;

/** Every `.ts` file under `roots` (relative to `root`, with `/` separators). */
export function sourceFiles(root: string, roots: readonly string[] = SOURCE_ROOTS): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) return walk(rel);
      return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
    });
  return roots.flatMap((r) => walk(r)).sort();
}

/**
 * The source with comments replaced by spaces (newlines kept, so offsets and line numbers stay
 * right). String and template literals are kept as they are.
 */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && /[=(,:;!&|?{}[\n]\s*$/.test(out.slice(-20))) {
      // A regular expression literal: copied whole so a `//` or quote inside it is not misread.
      let j = i + 1;
      let inClass = false;
      while (j < source.length && source[j] !== '\n') {
        const d = source[j]!;
        if (d === '\\') j++;
        else if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** 1-based line of `offset` in `text`. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** The index just past the bracket that closes the one at `open` (`(`/`{`), skipping literals. */
function matching(code: string, open: number): number {
  const pair: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const stack: string[] = [];
  for (let i = open; i < code.length; i++) {
    const c = code[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < code.length && code[j] !== c) j += code[j] === '\\' ? 2 : 1;
      i = j;
    } else if (pair[c]) stack.push(pair[c]!);
    else if (c === ')' || c === '}' || c === ']') {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
  }
  return code.length;
}

export interface Loop {
  /** 1-based line of the `for`/`while`/`do`. */
  readonly line: number;
  /** The loop's header and body, comments stripped. */
  readonly text: string;
}

/** Every `for`, `while` and `do` loop of a (comment-stripped) source, header and body. */
export function loops(code: string): Loop[] {
  const found: Loop[] = [];
  for (const m of code.matchAll(/\b(for|while)\s*\(|\bdo\s*\{/g)) {
    const start = m.index;
    let end: number;
    if (m[1] === undefined) {
      // do { ... } while (...)
      end = matching(code, code.indexOf('{', start));
    } else {
      const headerEnd = matching(code, code.indexOf('(', start));
      const rest = code.slice(headerEnd);
      const body = rest.match(/^\s*\{/);
      end = body ? matching(code, headerEnd + body[0].length - 1) : code.indexOf(';', headerEnd) + 1;
    }
    found.push({ line: lineOf(code, start), text: code.slice(start, end) });
  }
  return found;
}

/** Words that make a loop about trying again. */
const RETRY_WORDS = /attempt|retr(y|ies|ied)/i;
/**
 * Ways a loop pauses between two goes: a sleep or timer (also behind a `pause` helper), or
 * the computing of a backoff or a Retry-After delay.
 */
const PAUSES = /\b(sleep|pause|setTimeout|backoff\w*|retryAfter\w*|pollDelay\w*)\s*\(/i;

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

/** A loop that retries by hand: it talks of attempts or retries, and pauses between goes. */
export function retryLoops(file: string, source: string): Finding[] {
  return loops(stripComments(source))
    .filter((l) => RETRY_WORDS.test(l.text) && PAUSES.test(l.text))
    .map((l) => ({ file, line: l.line, what: `retry loop: ${l.text.split('\n')[0]!.trim().slice(0, 80)}` }));
}

/**
 * A `Retry-After` read by hand: the header taken from a response (`.get('retry-after')`,
 * `['retry-after']` read, `retry-after-ms`) or a platform's `retry_after` field read. Writing
 * the header on our own answers (`reply.header('retry-after', ...)`, an object literal key)
 * is not a parse.
 */
export function retryAfterParses(file: string, source: string): Finding[] {
  const code = stripComments(source);
  const patterns = [
    /\.get\(\s*['"`]retry-after(-ms)?['"`]\s*\)/gi,
    /\[\s*['"`]retry-after(-ms)?['"`]\s*\](?!\s*:)/gi,
    /\bretry_after\b/g,
  ];
  return patterns
    .flatMap((p) =>
      [...code.matchAll(p)].map((m) => ({
        file,
        line: lineOf(code, m.index),
        what: `Retry-After parse: ${m[0]}`,
      })),
    )
    .sort((a, b) => a.line - b.line);
}

/** Module specifiers a source imports at run time or for types, with whether only for types. */
export function importsOf(source: string): { specifier: string; typeOnly: boolean }[] {
  const code = stripComments(source);
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of code.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    found.push({ specifier: m[3]!, typeOnly: m[2] !== undefined });
  }
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push({ specifier: m[1]!, typeOnly: false });
  }
  return found;
}

/** Reads a file relative to `root`. */
export function read(root: string, file: string): string {
  return readFileSync(path.join(root, file), 'utf8');
}
