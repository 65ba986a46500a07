import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Thinking blocks as the API signs them, and the checks it makes when they come back.
 *
 * https://platform.claude.com/docs/en/build-with-claude/thinking-tool-workflows:
 * - "Pass thinking blocks back complete and unmodified: when you return a tool result, the
 *   thinking blocks from the assistant message must come back with it."
 * - "Echo the assistant message exactly as received: rebuilding the message or filtering out
 *   redacted_thinking blocks triggers a 400 error."
 * https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5: "Thinking blocks
 * are tied to the model and the conversation."
 * https://platform.claude.com/docs/en/build-with-claude/preserved-thinking/fix-bound-to-a-different-conversation:
 * the block "failed the prefix check: something before it changed after Claude produced it, or
 * a thinking block between other thinking blocks was left out or moved".
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const SECRET = randomBytes(32);

/** One thinking or redacted thinking block as the fake sent it. */
export type IssuedThinking =
  | { readonly type: 'thinking'; readonly thinking: string; readonly signature: string }
  | { readonly type: 'redacted_thinking'; readonly data: string };

interface IssuedTurn {
  readonly model: string;
  readonly blocks: readonly IssuedThinking[];
  /** Hash of what came before this turn; a later request must repeat it. */
  readonly prefix: string;
}

function mac(model: string, nonce: string, thinking: string): string {
  return createHmac('sha256', SECRET)
    .update(model)
    .update('\u0000')
    .update(nonce)
    .update('\u0000')
    .update(thinking)
    .digest('base64url');
}

/**
 * A signature covers the model and the text as the client receives it (empty with
 * `display: "omitted"`): a changed text or another model fails it. Each block's is unique.
 */
export function signThinking(
  model: string,
  displayed: string,
  nonce = randomBytes(9).toString('base64url'),
): string {
  return `${Buffer.from(model).toString('base64url')}.${nonce}.${mac(model, nonce, displayed)}`;
}

function verifies(signature: string, model: string, displayed: string): boolean {
  const [, nonce] = signature.split('.');
  return nonce !== undefined && signature === signThinking(model, displayed, nonce);
}

function signedModel(signature: string): string | undefined {
  const [model] = signature.split('.');
  try {
    return Buffer.from(model ?? '', 'base64url').toString('utf8') || undefined;
  } catch {
    return undefined;
  }
}

export function redactedData(): string {
  return `EmwKAhgBEgy${randomBytes(48).toString('base64')}`;
}

function withoutCacheControl(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCacheControl);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'cache_control') out[k] = withoutCacheControl(v);
  return out;
}

/** What precedes message `index`: the system prompt and the earlier messages, cache markers aside. */
export function prefixHash(body: Json, index: number): string {
  const messages = (body.messages as unknown[]).slice(0, index);
  return createHash('sha256')
    .update(JSON.stringify(withoutCacheControl([body.system ?? null, messages])))
    .digest('hex');
}

function thinkingOf(content: unknown): { index: number; block: Json }[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((b, index) =>
    isObject(b) && (b.type === 'thinking' || b.type === 'redacted_thinking') ? [{ index, block: b }] : [],
  );
}

function toolUseIds(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((b) => (isObject(b) && b.type === 'tool_use' ? [String(b.id)] : []));
}

/** Remembers every assistant turn with thinking the fake sent, and checks them when they return. */
export class ThinkingLedger {
  private readonly byToolUse = new Map<string, IssuedTurn>();
  private readonly bySignature = new Map<string, IssuedTurn>();
  private readonly redacted = new Set<string>();

  record(
    model: string,
    blocks: readonly IssuedThinking[],
    toolUses: readonly string[],
    prefix: string,
  ): void {
    if (blocks.length === 0) return;
    const turn: IssuedTurn = { model, blocks, prefix };
    for (const id of toolUses) this.byToolUse.set(id, turn);
    for (const b of blocks) {
      if (b.type === 'thinking') this.bySignature.set(b.signature, turn);
      else this.redacted.add(b.data);
    }
  }

  /**
   * The 400 message for a request whose assistant turns carry changed, foreign or missing
   * thinking blocks, or undefined when every one came back as it was sent.
   */
  violation(body: Json, bindsToConversation: boolean): string | undefined {
    const model = String(body.model);
    const messages = body.messages as Json[];
    for (const [i, m] of messages.entries()) {
      if (m.role !== 'assistant') continue;
      const sent = thinkingOf(m.content);
      let turn: IssuedTurn | undefined;
      for (const { index, block } of sent) {
        const where = `messages.${i}.content.${index}`;
        if (block.type === 'redacted_thinking') {
          if (typeof block.data !== 'string' || !this.redacted.has(block.data)) {
            return `${where}: Invalid \`data\` in \`redacted_thinking\` block.`;
          }
          continue;
        }
        const signature = typeof block.signature === 'string' ? block.signature : '';
        if (signature === '') return `${where}.signature: Field required`;
        const producer = signedModel(signature);
        if (producer !== undefined && producer !== model && this.bySignature.has(signature)) {
          return `${where}: Invalid \`signature\` in \`thinking\` block. The block was produced by ${producer} and cannot be sent to ${model}.`;
        }
        if (!verifies(signature, model, typeof block.thinking === 'string' ? block.thinking : '')) {
          return `${where}: Invalid \`signature\` in \`thinking\` block.`;
        }
        turn ??= this.bySignature.get(signature);
      }
      for (const id of toolUseIds(m.content)) turn ??= this.byToolUse.get(id);
      if (!turn) continue;
      const expected = turn.blocks;
      const same =
        expected.length === sent.length &&
        expected.every((e, k) => {
          const b = sent[k]!.block;
          return e.type === 'thinking'
            ? b.type === 'thinking' && b.thinking === e.thinking && b.signature === e.signature
            : b.type === 'redacted_thinking' && b.data === e.data;
        });
      if (!same) {
        return `messages.${i}: the thinking blocks of this assistant turn were dropped, reordered or changed (${expected.length} sent by the API, ${sent.length} returned); pass every thinking and redacted_thinking block back unmodified with the tool results`;
      }
      if (bindsToConversation && prefixHash(body, i) !== turn.prefix) {
        return `messages.${i}.content.${sent[0]?.index ?? 0}: Invalid \`signature\` in \`thinking\` block. The block is bound to a different conversation. Remove the block, or set \`thinking.block_binding.prefix_mismatch_behavior\` to "drop_block".`;
      }
    }
    return undefined;
  }
}
