/**
 * Escaping for the contexts prompt text reaches in a generated app. Prompts are untrusted:
 * they must never end an HTML element, a script, a string literal or a JSON document.
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/**
 * A JavaScript expression (JSON) for a value, safe inside a JS file and inside an inline
 * `<script>`: `<`, `>`, `&` and the line separators U+2028/U+2029 become `\u` escapes.
 */
export function jsLiteral(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
