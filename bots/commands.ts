import type { ProviderName } from '../src/provision/types.js';
import { SESSION_ID_PATTERN } from '../src/spawn/ids.js';

/** What a message asks for. */
export type Command =
  | { readonly kind: 'spawn'; readonly prompt: string; readonly provider?: ProviderName } // `/spawn [--on p] <prompt>`: a new app
  | { readonly kind: 'message'; readonly text: string } // plain text: new app, or a change to this one
  | { readonly kind: 'status'; readonly sessionId?: string }
  | { readonly kind: 'list' }
  | { readonly kind: 'stop'; readonly sessionId?: string }
  | { readonly kind: 'extend'; readonly sessionId?: string }
  | { readonly kind: 'help' }
  | { readonly kind: 'upgrade' }
  | { readonly kind: 'buy' }
  | { readonly kind: 'billing' }
  | { readonly kind: 'versions'; readonly sessionId?: string } // `/versions [id]`: the app's versions
  | { readonly kind: 'rollback'; readonly version: number; readonly sessionId?: string } // `/rollback <n> [id]`
  | { readonly kind: 'export'; readonly sessionId?: string } // `/export [id]`: a download of the source
  | { readonly kind: 'unknown'; readonly name: string };

/** The words after `/spawn` that are commands, not a build request (one list for every platform). */
export const SUBCOMMANDS = [
  'status',
  'list',
  'stop',
  'extend',
  'help',
  'upgrade',
  'buy',
  'billing',
  'versions',
  'export',
] as const;
/** `link [code]` / `unlink` (bots/account.ts): account commands, answered only to the person who typed them. */
export const ACCOUNT_WORDS = ['link', 'unlink'] as const;

/**
 * Whether the first word after `/spawn` makes it a command (`/spawn status`, `/spawn link`,
 * `/spawn rollback 2`) rather than a description of an app to build.
 */
export function isCommandWord(word: string): boolean {
  const w = word.toLowerCase();
  return (
    (SUBCOMMANDS as readonly string[]).includes(w) ||
    (ACCOUNT_WORDS as readonly string[]).includes(w) ||
    w === 'rollback'
  );
}

const NO_ARGUMENT: readonly Subcommand[] = ['list', 'help', 'upgrade', 'buy', 'billing'];
const PROVIDERS: readonly ProviderName[] = ['local', 'railway', 'render'];
type Subcommand = (typeof SUBCOMMANDS)[number];

/** `/name@BotName rest` → ['name', 'rest']; anything else → undefined. */
function splitCommand(text: string): [string, string] | undefined {
  const m = /^\/([A-Za-z][\w-]*)(?:@[\w]+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return undefined;
  return [m[1]!.toLowerCase(), (m[2] ?? '').trim()];
}

function subcommand(name: Subcommand, rest: string): Command | undefined {
  const id = rest.trim();
  if (NO_ARGUMENT.includes(name)) return id === '' ? ({ kind: name } as Command) : undefined;
  if (id === '') return { kind: name };
  return SESSION_ID_PATTERN.test(id) ? { kind: name, sessionId: id } : undefined;
}

/** `--on render a todo app` chooses where the app runs (when both clouds are configured). */
function spawnCommand(rest: string): Command {
  const m = /^--on[=\s]+(\S+)\s*([\s\S]*)$/i.exec(rest);
  if (!m) return { kind: 'spawn', prompt: rest };
  const provider = m[1]!.toLowerCase();
  if (!(PROVIDERS as readonly string[]).includes(provider)) {
    return {
      kind: 'unknown',
      name: `spawn --on ${provider.slice(0, 20)} (providers: ${PROVIDERS.join(', ')})`,
    };
  }
  return { kind: 'spawn', prompt: m[2]!.trim(), provider: provider as ProviderName };
}

/** Words that, typed alone in a one-to-one chat with the bot, mean the command of that name. */
export const BARE_COMMAND_WORDS = ['status', 'list', 'stop', 'extend', 'help', 'versions', 'export'] as const;

/** `2` or `2 abc123` after `rollback`; undefined for anything else (`rollback the colours`). */
function rollbackCommand(rest: string): Command | undefined {
  const m = /^v?(\d{1,6})(?:\s+(\S+))?$/i.exec(rest.trim());
  if (!m || Number(m[1]) < 1) return undefined;
  if (m[2] && !SESSION_ID_PATTERN.test(m[2])) return undefined;
  return { kind: 'rollback', version: Number(m[1]), ...(m[2] ? { sessionId: m[2] } : {}) };
}

export interface ParseOptions {
  /**
   * The chat is one-to-one with the bot (the web chat, like a Slack DM): `help`, `status`,
   * `stop abc123`, ... typed alone are commands, not a request to change the app.
   */
  readonly bareWords?: boolean;
}

/**
 * `stop` or `stop abc123` alone → `/stop` or `/stop abc123`; anything else unchanged. Also for the
 * platforms that read bare words in their own places (a Slack thread reply or DM).
 */
export function bareWordCommand(text: string): string {
  const rollback = /^rollback\s+(.+)$/i.exec(text.trim());
  if (rollback && rollbackCommand(rollback[1]!)) return `/rollback ${rollback[1]!.trim()}`;
  const m = /^(\w+)(?:\s+(\S+))?$/.exec(text.trim());
  if (!m) return text;
  const word = m[1]!.toLowerCase();
  if (!(BARE_COMMAND_WORDS as readonly string[]).includes(word)) return text;
  // `list of films` or `help me with colours` stay requests; only an app id may follow.
  if (m[2] && (NO_ARGUMENT.includes(word as Subcommand) || !SESSION_ID_PATTERN.test(m[2]))) return text;
  return m[2] ? `/${word} ${m[2]}` : `/${word}`;
}

/**
 * Parses a normalised message. `/spawn status` and `/status` mean the same; `/spawn stop abc123`
 * stops app abc123, but `/spawn stop-watch for runners` is a prompt.
 */
export function parseCommand(raw: string, options: ParseOptions = {}): Command {
  const text = options.bareWords ? bareWordCommand(raw) : raw;
  const parts = splitCommand(text);
  if (!parts) return { kind: 'message', text: text.trim() };
  const [name, rest] = parts;
  if (name === 'spawn' || name === 'new') {
    const [word = '', ...more] = rest.split(/\s+/);
    const lower = word.toLowerCase();
    if (lower === 'rollback') {
      const rollback = rollbackCommand(more.join(' '));
      if (rollback) return rollback;
    }
    if ((SUBCOMMANDS as readonly string[]).includes(lower)) {
      const sub = subcommand(lower as Subcommand, more.join(' '));
      if (sub) return sub;
    }
    return spawnCommand(rest);
  }
  if (name === 'start') return { kind: 'help' };
  if (name === 'rollback')
    return rollbackCommand(rest) ?? { kind: 'unknown', name: `rollback ${rest}`.trim() };
  if ((SUBCOMMANDS as readonly string[]).includes(name)) {
    return subcommand(name as Subcommand, rest) ?? { kind: 'unknown', name: `${name} ${rest}`.trim() };
  }
  return { kind: 'unknown', name };
}
