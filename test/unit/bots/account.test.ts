import { describe, expect, it } from 'vitest';
import { isBuildRequest } from '../../../adapters/discord/parse.js';
import { startsBuild } from '../../../adapters/slack/ingest.js';
import { parseAccountCommand } from '../../../bots/account.js';
import { parseCommand } from '../../../bots/commands.js';
import { formatCode, normaliseCode } from '../../../src/accounts/service.js';

describe('parseAccountCommand', () => {
  it.each([
    ['/link', { kind: 'link' }],
    ['/link@SpawnAIBot', { kind: 'link' }],
    ['/link ABCD-EF23', { kind: 'link', code: 'ABCD-EF23' }],
    ['/link abcd ef23', { kind: 'link', code: 'abcd ef23' }],
    ['/LINK whatever was typed', { kind: 'link', code: 'whatever was typed' }],
    ['/unlink', { kind: 'unlink' }],
    ['/spawn link', { kind: 'link' }],
    ['/spawn link ABCD-EF23', { kind: 'link', code: 'ABCD-EF23' }],
    ['/spawn link abcdef23', { kind: 'link', code: 'abcdef23' }],
    ['/spawn unlink', { kind: 'unlink' }],
  ])('%j', (text, expected) => {
    expect(parseAccountCommand(text)).toEqual(expected);
  });

  it.each([
    '/spawn link checkers for the chess club',
    '/spawn link checkers',
    '/spawn unlink the chains',
    '/unlink everything',
    '/spawn a link shortener',
    'link ABCD-EF23', // bare words only in the web chat
    '/status',
  ])('%j is not an account command', (text) => {
    expect(parseAccountCommand(text)).toBeUndefined();
  });

  it('takes bare words in a one-to-one chat (the web chat), where a code must look like one', () => {
    const bare = { bareWords: true };
    expect(parseAccountCommand('link', bare)).toEqual({ kind: 'link' });
    expect(parseAccountCommand(' Link abcd-ef23 ', bare)).toEqual({ kind: 'link', code: 'abcd-ef23' });
    expect(parseAccountCommand('unlink', bare)).toEqual({ kind: 'unlink' });
    expect(parseAccountCommand('link shortener', bare)).toBeUndefined();
    expect(parseAccountCommand('link checkers', bare)).toBeUndefined();
    expect(parseCommand('link shortener', bare)).toEqual({ kind: 'message', text: 'link shortener' });
  });

  it('normalises a typed code and shows it with a dash', () => {
    expect(normaliseCode(' abcd-ef23 ')).toBe('ABCDEF23');
    expect(normaliseCode('ABCD EF23')).toBe('ABCDEF23');
    expect(normaliseCode('ABCD-EF2O')).toBeUndefined(); // O is not in the alphabet
    expect(normaliseCode('ABCDEF234')).toBeUndefined();
    expect(formatCode('ABCDEF23')).toBe('ABCD-EF23');
  });

  it('Slack and Discord answer `/spawn link <code>` privately, never as a build', () => {
    expect(startsBuild('link ABCD-EF23')).toBe(false);
    expect(startsBuild('unlink')).toBe(false);
    expect(isBuildRequest('link ABCD-EF23')).toBe(false);
    expect(isBuildRequest('link')).toBe(false);
    expect(isBuildRequest('link shortener for the team')).toBe(true);
  });
});
