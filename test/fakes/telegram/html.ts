/**
 * Telegram's HTML parse mode, as strict as its documentation: only the listed tags, properly
 * nested; `<`, `>` and `&` outside tags must be entities; only `&lt; &gt; &amp; &quot;` and
 * numeric entities exist. A message that breaks these rules is refused with
 * "can't parse entities", as the Bot API does.
 */
const TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'a',
  'code',
  'pre',
  'blockquote',
  'tg-emoji',
]);
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

export type HtmlResult = { ok: true; text: string } | { ok: false; error: string };

function byteOffset(s: string, index: number): number {
  return Buffer.byteLength(s.slice(0, index));
}

export function parseTelegramHtml(html: string): HtmlResult {
  let text = '';
  const stack: string[] = [];
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === '<') {
      const end = html.indexOf('>', i);
      if (end < 0)
        return { ok: false, error: `Can't find end of the tag at byte offset ${byteOffset(html, i)}` };
      const inner = html.slice(i + 1, end).trim();
      if (inner.startsWith('/')) {
        const name = inner.slice(1).trim().toLowerCase();
        const open = stack.pop();
        if (open !== name) {
          return {
            ok: false,
            error: open
              ? `Can't find end tag corresponding to start tag "${open}"`
              : `Unexpected end tag at byte offset ${byteOffset(html, i)}`,
          };
        }
      } else {
        const name = (inner.split(/\s/)[0] ?? '').toLowerCase();
        if (!TAGS.has(name)) {
          return {
            ok: false,
            error: `Unsupported start tag "${name}" at byte offset ${byteOffset(html, i)}`,
          };
        }
        if (name === 'a' && !/\shref\s*=\s*"[^"]*"/.test(` ${inner.slice(1)}`)) {
          return {
            ok: false,
            error: `Tag "a" must have attribute "href" at byte offset ${byteOffset(html, i)}`,
          };
        }
        stack.push(name);
      }
      i = end + 1;
    } else if (c === '&') {
      const m = /^&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/.exec(html.slice(i, i + 12));
      const name = m?.[1];
      let decoded: string | undefined;
      if (name?.startsWith('#x')) decoded = String.fromCodePoint(Number.parseInt(name.slice(2), 16));
      else if (name?.startsWith('#')) decoded = String.fromCodePoint(Number.parseInt(name.slice(1), 10));
      else if (name) decoded = NAMED[name];
      if (decoded === undefined || !m) {
        return {
          ok: false,
          error: `Character '&' is reserved and must be escaped at byte offset ${byteOffset(html, i)}`,
        };
      }
      text += decoded;
      i += m[0].length;
    } else if (c === '>') {
      return {
        ok: false,
        error: `Character '>' is reserved and must be escaped at byte offset ${byteOffset(html, i)}`,
      };
    } else {
      text += c;
      i++;
    }
  }
  if (stack.length > 0)
    return { ok: false, error: `Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { ok: true, text };
}
