import type { IncomingMessage } from 'node:http';

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The Web API's request body: form-encoded by default (object arguments such as `blocks` are
 * JSON strings in a field), or JSON for clients that send it.
 */
export function parseApiBody(contentType: string | undefined, raw: string): Record<string, unknown> {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  }
  const form: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
  for (const key of ['blocks', 'attachments', 'metadata']) {
    if (typeof form[key] === 'string') {
      try {
        form[key] = JSON.parse(form[key] as string);
      } catch {
        form[key] = Symbol.for('invalid-json');
      }
    }
  }
  return form;
}
