/**
 * Text Postgres cannot keep. NUL is refused in `text` and `jsonb` alike ("invalid byte sequence
 * for encoding UTF8: 0x00", "unsupported Unicode escape sequence"); half of a UTF-16 surrogate
 * pair is not a character at all: `jsonb` refuses it and a `text` column gets U+FFFD instead.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** True when the text holds a NUL character or half of a surrogate pair. */
export function hasUnstorableText(text: string): boolean {
  return UNSTORABLE.test(text);
}

/** The text with every NUL and every half surrogate replaced by U+FFFD, so it can be stored. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_ALL, '\ufffd');
}
