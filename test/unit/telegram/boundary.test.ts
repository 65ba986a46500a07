import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TELEGRAM_GROUP_EDIT_INTERVAL_MS,
  TELEGRAM_GROUP_MESSAGES_PER_WINDOW,
  TELEGRAM_GROUP_WINDOW_MS,
  TELEGRAM_PRIVATE_EDIT_INTERVAL_MS,
} from '../../../adapters/telegram/index.js';
import { TELEGRAM_GLOBAL_MESSAGES_PER_SECOND } from '../../../adapters/telegram/pacing.js';

const DIR = path.resolve(import.meta.dirname, '../../../adapters/telegram');
const SDK = /^(grammy|@grammyjs\/)/;

/** Runtime imports of a module and, recursively, of the relative modules it imports. */
function runtimeImports(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
  ].map((m) => m[1]!);
  return specifiers.flatMap((s) =>
    s.startsWith('.')
      ? [s, ...runtimeImports(path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')), seen)]
      : [s],
  );
}

describe('the Telegram webhook path', () => {
  it.each(['routes.ts', 'verify.ts', 'parse.ts'])('%s loads no Telegram SDK', (file) => {
    expect(runtimeImports(path.join(DIR, file)).filter((s) => SDK.test(s))).toEqual([]);
  });
});

describe('Telegram pacing constants', () => {
  it("are Telegram's published limits, with room to spare", () => {
    // About one message a second per chat, 20 a minute per group, 30 a second for the bot.
    expect(TELEGRAM_PRIVATE_EDIT_INTERVAL_MS).toBe(1_100);
    expect(TELEGRAM_GROUP_EDIT_INTERVAL_MS).toBe(3_100);
    expect((TELEGRAM_GROUP_MESSAGES_PER_WINDOW * 60_000) / TELEGRAM_GROUP_WINDOW_MS).toBeLessThanOrEqual(20);
    expect(TELEGRAM_GROUP_WINDOW_MS / TELEGRAM_GROUP_MESSAGES_PER_WINDOW).toBeLessThanOrEqual(
      TELEGRAM_GROUP_EDIT_INTERVAL_MS,
    );
    expect(TELEGRAM_GLOBAL_MESSAGES_PER_SECOND).toBeLessThanOrEqual(30);
  });
});
