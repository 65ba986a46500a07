/**
 * The Block Kit rules the fake enforces, so a message Slack would refuse is refused here too
 * (`invalid_blocks`). The limits are Slack's documented ones.
 */

type Json = Record<string, unknown>;

const BLOCK_TYPES = new Set(['header', 'section', 'actions', 'context', 'divider', 'image', 'rich_text']);

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function textObject(v: unknown, max: number, plainOnly = false): string | undefined {
  if (!isObj(v)) return 'a text object is missing';
  if (v.type !== 'plain_text' && (plainOnly || v.type !== 'mrkdwn')) return `text type ${String(v.type)}`;
  if (typeof v.text !== 'string' || v.text.length === 0) return 'empty text';
  if (v.text.length > max) return `text longer than ${max}`;
  return undefined;
}

/** Returns why the blocks are invalid, or undefined when Slack would accept them. */
export function blockProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks is not an array';
  if (blocks.length > 50) return 'more than 50 blocks';
  const actionIds = new Set<string>();
  for (const block of blocks) {
    if (!isObj(block) || typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type))
      return 'unknown block';
    if (block.block_id !== undefined && (typeof block.block_id !== 'string' || block.block_id.length > 255))
      return 'block_id';
    switch (block.type) {
      case 'header': {
        const p = textObject(block.text, 150, true);
        if (p) return `header: ${p}`;
        break;
      }
      case 'section': {
        if (block.text === undefined && block.fields === undefined) return 'section without text or fields';
        if (block.text !== undefined) {
          const p = textObject(block.text, 3000);
          if (p) return `section: ${p}`;
        }
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length > 10) return 'section fields';
          for (const f of block.fields) {
            const p = textObject(f, 2000);
            if (p) return `field: ${p}`;
          }
        }
        break;
      }
      case 'context': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10)
          return 'context elements';
        for (const e of block.elements) {
          const p = textObject(e, 2000);
          if (p) return `context: ${p}`;
        }
        break;
      }
      case 'actions': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25)
          return 'actions elements';
        for (const e of block.elements) {
          if (!isObj(e) || e.type !== 'button') return 'only buttons are supported by the fake';
          const p = textObject(e.text, 75, true);
          if (p) return `button: ${p}`;
          if (typeof e.action_id !== 'string' || e.action_id.length > 255) return 'button action_id';
          if (actionIds.has(e.action_id)) return 'duplicate action_id';
          actionIds.add(e.action_id);
          if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 2000))
            return 'button value';
          if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > 3000)) return 'button url';
          if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') return 'button style';
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** Every button of a message, for tests that press them. */
export function buttonsOf(blocks: readonly unknown[]): Json[] {
  const out: Json[] = [];
  for (const block of blocks) {
    if (isObj(block) && block.type === 'actions' && Array.isArray(block.elements)) {
      for (const e of block.elements) if (isObj(e)) out.push(e);
    }
  }
  return out;
}

/** All visible text of a message's blocks, joined (for assertions). */
export function blocksText(blocks: readonly unknown[]): string {
  const parts: string[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) {
      if (typeof v.text === 'string') parts.push(v.text);
      for (const [k, child] of Object.entries(v)) if (k !== 'text' || typeof child !== 'string') visit(child);
    }
  };
  visit(blocks);
  return parts.join('\n');
}
