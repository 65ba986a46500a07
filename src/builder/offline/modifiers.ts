import { type AccentName, COLOUR_WORDS, type Theme } from './palette.js';
import { capAtWord, normalizeSpace, titleCase } from './words.js';

/**
 * The few changes the offline builder understands in a prompt: a theme, an accent colour and
 * a name. Anything else a follow-up asks for is reported back as `unhandled`.
 */
export interface Modifiers {
  readonly theme?: Theme;
  readonly accent?: AccentName;
  readonly title?: string;
  /** The prompt without the understood phrases (bare colour words stay: "Green Valley Farm"). */
  readonly rest: string;
  /** Words of the prompt that asked for something else ("add", "login", ...), lower case. */
  readonly unhandled: readonly string[];
}

export const TITLE_MAX_CHARS = 60;

const COLOURS = Object.keys(COLOUR_WORDS).join('|');
const CONNECTOR = String.raw`(?:(?:\b(?:with|in|using|and|plus|on)\s+)?(?:an?\s+|the\s+)?)`;
const THEME_NOUN = '(?:mode|theme|background|ui|look|version|colou?rs?|scheme|style)';
const TARGET = String.raw`(?:\s+(?:it|this|the\s+(?:app|site|page|api|whole\s+thing)|everything))?`;

const NEGATED_DARK = new RegExp(
  String.raw`\b(?:no|remove|disable|drop|without|turn\s+off|get\s+rid\s+of|undo)\s+(?:the\s+)?dark(?:\s+|-)?${THEME_NOUN}\b`,
  'gi',
);
/** "dark mode", "make it dark", "black background", "night mode" and the like. */
function themePattern(shade: string, ground: string, alias: string): RegExp {
  const verb = String.raw`(?:make|turn|switch|set|change|go|put)${TARGET}(?:\s+(?:to|into|in))?`;
  const notColour = String.raw`(?!\s*-?\s*(?:${COLOURS})\b)`;
  return new RegExp(
    [
      String.raw`${CONNECTOR}\b${shade}(?:\s+|-)?${THEME_NOUN}\b`,
      String.raw`${CONNECTOR}\b${verb}\s+${shade}(?:er)?\b${notColour}(?:(?:\s+|-)?${THEME_NOUN}\b)?`,
      String.raw`${CONNECTOR}\b${ground}\s+background\b`,
      String.raw`\bbackground\s+(?:to\s+|in\s+)?(?:${ground}|${shade})\b`,
      String.raw`${CONNECTOR}\b${alias}\b`,
    ].join('|'),
    'gi',
  );
}

const DARK = themePattern('dark', 'black', String.raw`night\s+mode`);
const LIGHT = themePattern('light', 'white', String.raw`day\s+mode`);

/** A colour word; with "accent"/"theme" after it, or "in"/"with" before it, it is a style phrase. */
const COLOUR = new RegExp(
  String.raw`(\b(?:with|in|using)\s+(?:an?\s+|the\s+)?)?\b(${COLOURS})\b(\s+(?:accents?|colou?rs?(?:\s+scheme)?|theme|buttons?|highlights?))?`,
  'gi',
);

const OBJECT = String.raw`(?:\s+(?:it|this|that|the\s+(?:app|site|page|api|project|thing)))`;
const RENAME = new RegExp(
  [
    String.raw`^\s*title\s*:?\s+`,
    String.raw`\btitle\s*:\s*`,
    String.raw`\b(?:call|name)${OBJECT}\s+`,
    String.raw`\b(?:called|named|titled)\s+(?!after\b|for\b|by\b)`,
    String.raw`\b(?:rename|retitle|re-title)${OBJECT}?(?:\s+(?:to|as))?\s+`,
    String.raw`\b(?:change|set|update|make|switch)\s+(?:the|its|my)\s+(?:title|name)(?:\s+of${OBJECT})?\s+(?:to|as)\s+`,
  ].join('|'),
  'i',
);
/** Where a name written after "call it" ends: "call it Climb Log and make it green". */
const NAME_END = new RegExp(
  String.raw`[.!?;](?:\s|$)|,|\s+(?:and|but|then|with|in|using|plus)\s+(?=(?:make|use|switch|turn|change|set|give|go|add|put|dark|light|an?|the|it|its|${COLOURS})\b)`,
  'i',
);

/** Words that carry no request of their own in "please make it green and call it X". */
const FILLER_WORDS = new Set(
  `a an the and or but it its it's this that to into in on of for with be is are was me us we i you
  your my our please pls can could would will should must just also now then too so more bit little
  some make use change switch set turn go put give want like need love let let's lets try instead
  colour color colours colors accent accents theme mode scheme style look looks background main primary
  button buttons highlight highlights version app site page api thing whole everything title name
  rename call called named dark darker light lighter night day thanks thank ok okay hey hi nice cool
  great good rather very really same keep maybe`
    .split(/\s+/)
    .concat(Object.keys(COLOUR_WORDS)),
);

interface Span {
  readonly start: number;
  readonly end: number;
}

function findRename(text: string): { title: string; span: Span } | undefined {
  const match = RENAME.exec(text);
  if (!match) return undefined;
  const after = match.index + match[0].length;
  const rest = text.slice(after);
  const quoted = /^(["“«])(.+?)(["”»])/.exec(rest) ?? /^'(.+)'(?=$|[\s.,!?;])/.exec(rest);
  let name: string;
  let length: number;
  if (quoted) {
    name = quoted[2] ?? quoted[1] ?? '';
    length = quoted[0].length;
  } else {
    const end = NAME_END.exec(rest);
    length = end ? end.index : rest.length;
    name = rest.slice(0, length);
  }
  name = capAtWord(name.replace(/^["'“‘]+|["'”’]+$/g, ''), TITLE_MAX_CHARS);
  if (name === '') return undefined;
  // All lower case reads as dictated, not chosen: title-case it. Any capital means "as written".
  const title = /\p{Lu}/u.test(name) ? name : titleCase(name);
  return { title, span: { start: match.index, end: after + length } };
}

function lastMatch(pattern: RegExp, text: string): RegExpExecArray | undefined {
  let last: RegExpExecArray | undefined;
  for (const match of text.matchAll(pattern)) last = match as RegExpExecArray;
  return last;
}

function allSpans(pattern: RegExp, text: string, keep?: (m: RegExpMatchArray) => boolean): Span[] {
  return [...text.matchAll(pattern)]
    .filter((m) => !keep || keep(m))
    .map((m) => ({ start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }));
}

function cut(text: string, spans: readonly Span[]): string {
  let out = text;
  for (const span of [...spans].sort((a, b) => b.start - a.start)) {
    out = `${out.slice(0, span.start)} ${out.slice(span.end)}`;
  }
  return normalizeSpace(out);
}

/** Reads the theme, accent colour and name out of a prompt. */
export function parseModifiers(prompt: string): Modifiers {
  let text = normalizeSpace(prompt);
  const rename = findRename(text);
  if (rename) text = cut(text, [rename.span]);

  // "no dark mode" means light: rewrite it before looking for "dark mode".
  text = text.replace(NEGATED_DARK, 'light mode');
  const dark = lastMatch(DARK, text);
  const light = lastMatch(LIGHT, text);
  let theme: Theme | undefined;
  if (dark || light) theme = (dark?.index ?? -1) > (light?.index ?? -1) ? 'dark' : 'light';
  text = cut(text, [...allSpans(DARK, text), ...allSpans(LIGHT, text)]);

  const colour = lastMatch(COLOUR, text);
  const accent = colour ? COLOUR_WORDS[(colour[2] ?? '').toLowerCase()] : undefined;
  const rest = cut(
    text,
    allSpans(COLOUR, text, (m) => Boolean(m[1] || m[3])),
  );

  const unhandled = rest
    .toLowerCase()
    .split(/[^\p{L}\p{N}']+/u)
    .filter((word) => word.length >= 3 && !FILLER_WORDS.has(word));

  return {
    ...(theme ? { theme } : {}),
    ...(accent ? { accent } : {}),
    ...(rename ? { title: rename.title } : {}),
    rest,
    unhandled,
  };
}
