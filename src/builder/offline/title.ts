import { parseModifiers, TITLE_MAX_CHARS } from './modifiers.js';
import { capAtWord, capitalizeFirst, normalizeSpace, stripFiller, titleCase } from './words.js';

export const DESCRIPTION_MAX_CHARS = 280;

/** Where the thing asked for ends and its details begin: "a todo list for my gym. It should ...". */
const FIRST_CLAUSE_END = /[.!?](?:\s|$)|[;:\n]|,\s|\s(?:that|which|who|where|so)\s/i;

/**
 * A human title from a prompt: "build me a todo list for my climbing gym" ->
 * "Todo List for My Climbing Gym". "... called Climb Log" -> "Climb Log". Leading requests,
 * articles and style phrases ("with dark mode") are dropped; at most 60 characters, cut at a
 * word. Returns `fallback` when nothing is left. Plain text: escape it where it is used.
 */
export function titleFromPrompt(prompt: string, fallback = 'My App'): string {
  const modifiers = parseModifiers(prompt);
  if (modifiers.title) return modifiers.title;
  const phrase = stripFiller(modifiers.rest, { phrases: true });
  const end = FIRST_CLAUSE_END.exec(phrase);
  // Keep the details when the first clause is a bare noun: "an API that stores recipes".
  const first = end ? phrase.slice(0, end.index) : phrase;
  const clause = (first.includes(' ') ? first : phrase).replace(/\brest(ful)?\s+api\b/gi, 'REST$1 API');
  const title = capAtWord(titleCase(stripFiller(clause, { phrases: true })), TITLE_MAX_CHARS);
  return title === '' ? fallback : title;
}

/** The prompt as page copy: "build me a todo list for my gym" -> "A todo list for my gym." Plain text. */
export function describePrompt(prompt: string): string {
  let text = stripFiller(prompt, { phrases: false });
  if (text === '') return '';
  if (text.length > DESCRIPTION_MAX_CHARS)
    return `${capAtWord(capitalizeFirst(text), DESCRIPTION_MAX_CHARS)}…`;
  text = capitalizeFirst(normalizeSpace(text));
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

/** An npm-safe package name from a title: "Todo List for My Gym" -> "todo-list-for-my-gym". */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return slug === '' ? 'spawnai-app' : slug;
}
