/** Small text helpers shared by the title, description and modifier parsers. */

export function normalizeSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Requests and pleasantries in front of what is wanted: "hey, could you please build me ...". */
const COMMAND_FILLER: readonly RegExp[] = [
  /^\/spawn\b/i,
  /^(?:hey|hi|hello|yo|ok|okay)\b/i,
  /^(?:please|pls|plz|kindly)\b/i,
  /^(?:can|could|would|will) (?:you|u)\b/i,
  /^(?:i|we)(?:'d| would)? (?:really )?(?:want|need|like|love)(?: to (?:have|get|build|make|create|see|spawn))?\b/i,
  /^(?:i'm|i am|we're|we are) looking for\b/i,
  /^(?:let's|lets)\b/i,
  /^(?:build|make|create|generate|write|code|design|spawn|develop|give|show|set up|setup|put together|whip up|spin up|throw together)\b/i,
  /^(?:me|us)\b/i,
  /^(?:up|quickly)\b/i,
];

/** Words that open a noun phrase without naming anything: dropped from titles only. */
const PHRASE_FILLER: readonly RegExp[] = [
  /^(?:a|an|the|some)\b/i,
  /^(?:simple|basic|quick|small|little|tiny|nice|new|cool|minimal|beautiful|pretty|clean)\b(?= \S)/i,
];

const TRAILING_FILLER = /(?:[\s,]+(?:please|pls|plz|for me|for us|thanks|thank you|thx))+[\s.!]*$/i;

/** Drops leading requests ("build me", "I want", "please") and, if asked, articles and vague adjectives. */
export function stripFiller(text: string, { phrases }: { phrases: boolean }): string {
  const patterns = phrases ? [...COMMAND_FILLER, ...PHRASE_FILLER] : COMMAND_FILLER;
  let rest = normalizeSpace(text).replace(TRAILING_FILLER, '');
  for (let changed = true; changed; ) {
    changed = false;
    rest = rest.replace(/^[\s,:;.!?-]+/, '');
    for (const pattern of patterns) {
      const next = rest.replace(pattern, '');
      if (next !== rest) {
        rest = next;
        changed = true;
      }
    }
  }
  return rest.trim();
}

const SMALL_WORDS = new Set([
  'a',
  'an',
  'the',
  'and',
  'but',
  'or',
  'nor',
  'for',
  'of',
  'on',
  'in',
  'to',
  'at',
  'by',
  'with',
  'from',
  'as',
  'per',
  'via',
  'vs',
  'into',
  'onto',
]);

const ACRONYMS: Readonly<Record<string, string>> = {
  api: 'API',
  apis: 'APIs',
  json: 'JSON',
  crud: 'CRUD',
  faq: 'FAQ',
  ui: 'UI',
  ai: 'AI',
  kpi: 'KPI',
  kpis: 'KPIs',
  seo: 'SEO',
  url: 'URL',
  html: 'HTML',
  css: 'CSS',
  rsvp: 'RSVP',
  diy: 'DIY',
  crm: 'CRM',
  sql: 'SQL',
  pdf: 'PDF',
  ios: 'iOS',
};

function titleWord(word: string, first: boolean): string {
  // The person's own capitals win: "iPhone", "NASA", "McDonald's".
  if (/\p{Lu}/u.test(word)) return word;
  const bare = word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  const acronym = ACRONYMS[bare];
  if (acronym) return word.replace(bare, acronym);
  if (!first && SMALL_WORDS.has(bare)) return word;
  return word.replace(
    /(^[^\p{L}\p{N}]*|[-/])(\p{Ll})/gu,
    (_m, before: string, ch: string) => before + ch.toUpperCase(),
  );
}

/** "todo list for my climbing gym" -> "Todo List for My Climbing Gym". */
export function titleCase(text: string): string {
  return normalizeSpace(text)
    .split(' ')
    .map((word, i) => titleWord(word, i === 0))
    .join(' ');
}

const DANGLING = /\s+(?:for|with|and|or|of|to|in|on|at|by|from|as|a|an|the|my|your|our|&|-|–)$/i;

/** Cuts text to at most `max` characters at a word boundary, without a dangling "for" or "and". */
export function capAtWord(text: string, max: number): string {
  let out = normalizeSpace(text);
  if (out.length > max) {
    const cut = out.slice(0, max + 1).lastIndexOf(' ');
    out = cut > 0 ? out.slice(0, cut) : out.slice(0, max);
  }
  for (let prev = ''; prev !== out; ) {
    prev = out;
    out = out.replace(DANGLING, '').replace(/[\s,;:.!?-]+$/, '');
  }
  return out;
}

export function capitalizeFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
