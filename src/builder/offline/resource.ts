/**
 * The resource of a REST API, from its prompt: "an API for books" -> "books". Only a plain
 * lower-case word ever comes out, so it is safe in a URL path, in JSON and in JS source.
 */

export const DEFAULT_RESOURCE = 'items';

export const RESOURCE_PATTERN = /^[a-z][a-z0-9]{0,29}$/;

/** Words that are about the API itself or that open a phrase, never the resource. */
const NOT_A_RESOURCE = new Set(
  `a an the my our your their his her some all any every simple small basic tiny little quick new
  rest restful json crud web http https public private api apis app application list lists data
  backend service server endpoint endpoints microservice database db that which to for of with
  about on over managing manage manages storing store stores tracking track tracks listing keeping
  keep keeps holding hold holds handling handle handles me us i it this can will lets let allows
  sample demo test example`.split(/\s+/),
);

/** Nouns for a container of the real thing: "movie collection" -> "movies". */
const CONTAINERS = new Set(
  'collection collections library catalog catalogue inventory database store records info details list registry archive log'.split(
    ' ',
  ),
);

const PHRASE_STOP = new Set(
  'and or with in on at by from that which who where so using plus for to of as like'.split(' '),
);

const AFTER_API =
  /\b(?:api|apis|backend|service|server|endpoints?|crud)\b(?:\s+(?:for|of|to|that|which|on|over|around|about|managing|storing|tracking|listing))+\s+(.*)$/i;
const BEFORE_API =
  /^(.*?)\s*\b(?:rest(?:ful)?\s+|json\s+|crud\s+|http\s+)*(?:api|apis|backend|service|endpoints?)\b/i;

const IRREGULAR_PLURALS: Readonly<Record<string, string>> = {
  person: 'people',
  child: 'children',
  man: 'men',
  woman: 'women',
  mouse: 'mice',
};

export function pluralize(word: string): string {
  const irregular = IRREGULAR_PLURALS[word];
  if (irregular) return irregular;
  if (Object.values(IRREGULAR_PLURALS).includes(word) || /s$/.test(word)) return word;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(?:x|z|ch|sh)$/.test(word)) return `${word}es`;
  return `${word}s`;
}

export function singularize(word: string): string {
  const irregular = Object.entries(IRREGULAR_PLURALS).find(([, plural]) => plural === word);
  if (irregular) return irregular[0];
  if (/[^aeiou]ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(?:x|z|ch|sh|ss)es$/.test(word)) return word.slice(0, -2);
  if (/[^s]s$/.test(word)) return word.slice(0, -1);
  return word;
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}'-]+|[,.;:!?]/gu) ?? [];
}

/** The noun phrase at the start of `text` ("my movie collection and ..." -> movie collection). */
function headNoun(tokens: readonly string[]): string | undefined {
  const start = tokens.findIndex((t) => !NOT_A_RESOURCE.has(t));
  if (start < 0) return undefined;
  const run: string[] = [];
  for (const token of tokens.slice(start)) {
    if (PHRASE_STOP.has(token) || !/^[\p{L}\p{N}]/u.test(token)) break;
    run.push(token);
  }
  if (run.length === 0) return undefined;
  const last = run[run.length - 1] ?? '';
  if (!CONTAINERS.has(last)) return last;
  if (run.length > 1) return run[run.length - 2];
  // "a library of books": the container names what holds the resource.
  const next = start + run.length;
  return tokens[next] === 'of' ? (headNoun(tokens.slice(next + 1)) ?? last) : last;
}

/** The noun just before "API" ("a books API", "a todo list API" -> todo). */
function nounBefore(tokens: readonly string[]): string | undefined {
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i] ?? '';
    if (!/^[\p{L}\p{N}]/u.test(token) || PHRASE_STOP.has(token)) return undefined;
    if (!NOT_A_RESOURCE.has(token)) return token;
  }
  return undefined;
}

function clean(word: string | undefined): string | undefined {
  if (!word) return undefined;
  const plural = pluralize(word.replace(/['-]/g, ''));
  return RESOURCE_PATTERN.test(plural) ? plural : undefined;
}

/** "an API for books" -> "books"; "a REST API to manage my movie collection" -> "movies". */
export function resourceFromPrompt(prompt: string): string {
  const after = AFTER_API.exec(prompt);
  const fromAfter = after ? clean(headNoun(words(after[1] ?? ''))) : undefined;
  if (fromAfter) return fromAfter;
  const before = BEFORE_API.exec(prompt);
  const fromBefore = before ? clean(nounBefore(words(before[1] ?? ''))) : undefined;
  return fromBefore ?? DEFAULT_RESOURCE;
}
