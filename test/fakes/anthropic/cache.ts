import { createHash, type Hash } from 'node:crypto';

// Rules from Anthropic's "Prompt caching" page
// (https://platform.claude.com/docs/en/build-with-claude/prompt-caching): up to 4 breakpoints,
// a minimum cacheable prompt length per model (512 tokens for Claude Sonnet 5.5, per
// https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5), a lookback of
// about 20 blocks from each breakpoint, and usage split into input, cache read and cache write.

/** Blocks the API looks back over from a breakpoint for an earlier cache entry. */
const LOOKBACK_BLOCKS = 20;

export interface CacheAccount {
  /** Tokens after the last cache breakpoint (or all, when nothing is cached). */
  readonly inputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
}

interface Segment {
  readonly text: string;
  readonly tokens: number;
  readonly breakpoint: boolean;
}

/** About 4 characters a token, as a rough tokenizer would give. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function withoutCacheControl(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const { cache_control: _cc, ...rest } = value as Record<string, unknown>;
  return rest;
}

function hasCacheControl(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'cache_control' in value &&
    Boolean((value as { cache_control?: unknown }).cache_control)
  );
}

/** The request in prompt order (tools, system, messages), one segment per block. */
function segments(body: Record<string, unknown>): Segment[] {
  const out: Segment[] = [];
  const push = (label: string, block: unknown) => {
    const text = `${label}:${JSON.stringify(withoutCacheControl(block))}`;
    out.push({ text, tokens: estimateTokens(text), breakpoint: hasCacheControl(block) });
  };
  for (const tool of (body.tools as unknown[] | undefined) ?? []) push('tool', tool);
  const system = body.system;
  if (typeof system === 'string') push('system', system);
  else for (const block of (system as unknown[] | undefined) ?? []) push('system', block);
  for (const [i, m] of (
    (body.messages as { role: string; content: unknown }[] | undefined) ?? []
  ).entries()) {
    if (typeof m.content === 'string') push(`${i}:${m.role}`, m.content);
    else for (const block of (m.content as unknown[]) ?? []) push(`${i}:${m.role}`, block);
  }
  // The top-level cache_control marks the last block.
  if (hasCacheControl(body) && out.length > 0) {
    const last = out.at(-1)!;
    out[out.length - 1] = { ...last, breakpoint: true };
  }
  return out;
}

/**
 * Prompt caching as the API bills it: a prefix ending at a `cache_control` breakpoint is
 * written to the cache (if it is at least the model's minimum length) and read back by a
 * later request whose prefix matches up to that point, within the TTL. Per API key.
 */
export class PromptCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly minTokens: number,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** `minTokens` overrides the cache's own floor (the model's, when the fake knows it). */
  account(body: Record<string, unknown>, minTokens = this.minTokens): CacheAccount {
    const segs = segments(body);
    const hash: Hash = createHash('sha256').update(String(body.model));
    const keys: string[] = [];
    const cumulative: number[] = [];
    let sum = 0;
    for (const s of segs) {
      hash.update(s.text).update('\u0000');
      keys.push(hash.copy().digest('hex'));
      sum += s.tokens;
      cumulative.push(sum);
    }
    const total = sum;
    const now = Date.now();
    const breakpoints = segs.flatMap((s, i) => (s.breakpoint ? [i] : []));
    if (breakpoints.length === 0) return { inputTokens: total, cacheReadTokens: 0, cacheWriteTokens: 0 };

    let readEnd = -1;
    for (const bp of breakpoints) {
      for (let i = bp; i >= Math.max(0, bp - LOOKBACK_BLOCKS); i--) {
        const expires = this.entries.get(keys[i]!);
        if (expires !== undefined && expires > now && i > readEnd) {
          readEnd = i;
          break;
        }
      }
    }
    const read = readEnd >= 0 ? cumulative[readEnd]! : 0;
    if (readEnd >= 0) this.entries.set(keys[readEnd]!, now + this.ttlMs);

    let writeEnd = readEnd;
    for (const bp of breakpoints) {
      if (cumulative[bp]! < minTokens) continue;
      this.entries.set(keys[bp]!, now + this.ttlMs);
      if (bp > writeEnd) writeEnd = bp;
    }
    const write = writeEnd > readEnd ? cumulative[writeEnd]! - read : 0;
    return { inputTokens: total - read - write, cacheReadTokens: read, cacheWriteTokens: write };
  }
}
