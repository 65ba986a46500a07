import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discordPublicKey, verifyDiscordRequest } from '../../../adapters/discord/verify.js';
import { SpawnError } from '../../../src/errors.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/discord');
const pair = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const rawHex = (k: typeof pair.publicKey) =>
  k.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
const key = discordPublicKey(rawHex(pair.publicKey));
const NOW_MS = 1_750_000_000_000;
const NOW_S = String(NOW_MS / 1000);

function signed(body: string, timestamp = NOW_S, privateKey = pair.privateKey) {
  return {
    'x-signature-ed25519': sign(null, Buffer.from(timestamp + body), privateKey).toString('hex'),
    'x-signature-timestamp': timestamp,
  };
}

function refusal(fn: () => void): SpawnError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SpawnError);
    return e as SpawnError;
  }
  throw new Error('expected a refusal');
}

describe('verifyDiscordRequest (Ed25519 over timestamp + raw body)', () => {
  const fixtures = [
    'interaction-ping.json',
    'interaction-command-guild.json',
    'interaction-button-stop.json',
  ];

  it.each(fixtures)('accepts %s signed with the application key', (name) => {
    const body = readFileSync(path.join(FIXTURES, name), 'utf8');
    expect(() => verifyDiscordRequest(key, signed(body), Buffer.from(body), NOW_MS)).not.toThrow();
  });

  it('refuses other keys, other bytes and broken headers with ERR_DISCORD_SIGNATURE (401)', () => {
    const body = readFileSync(path.join(FIXTURES, 'interaction-command-guild.json'), 'utf8');
    const good = signed(body);
    const cases: [string, Record<string, string | undefined>, string][] = [
      ['another key', signed(body, NOW_S, other.privateKey), body],
      ['a changed body', good, body.replace('climbing gym', 'climbing gyms')],
      ['a changed timestamp', { ...good, 'x-signature-timestamp': String(NOW_MS / 1000 - 1) }, body],
      ['no signature', { ...good, 'x-signature-ed25519': undefined }, body],
      ['no timestamp', { ...good, 'x-signature-timestamp': undefined }, body],
      ['a short signature', { ...good, 'x-signature-ed25519': good['x-signature-ed25519'].slice(2) }, body],
      ['a non-hex signature', { ...good, 'x-signature-ed25519': 'z'.repeat(128) }, body],
      ['a non-numeric timestamp', { ...good, 'x-signature-timestamp': '17e8' }, body],
    ];
    for (const [what, headers, sent] of cases) {
      const e = refusal(() => verifyDiscordRequest(key, headers, Buffer.from(sent), NOW_MS));
      expect({ what, code: e.code, status: e.status }).toEqual({
        what,
        code: 'ERR_DISCORD_SIGNATURE',
        status: 401,
      });
    }
  });

  it('refuses a correctly signed request older or newer than 5 minutes', () => {
    const body = '{"type":1}';
    for (const offset of [-301, 301]) {
      const ts = String(NOW_MS / 1000 + offset);
      const e = refusal(() => verifyDiscordRequest(key, signed(body, ts), Buffer.from(body), NOW_MS));
      expect(e.message).toMatch(/too old/);
    }
    for (const offset of [-299, 299]) {
      const ts = String(NOW_MS / 1000 + offset);
      expect(() => verifyDiscordRequest(key, signed(body, ts), Buffer.from(body), NOW_MS)).not.toThrow();
    }
  });

  it('takes the public key as the 64 hex characters the Developer Portal shows', () => {
    expect(() => discordPublicKey('abc')).toThrow(SpawnError);
    expect(() => discordPublicKey('z'.repeat(64))).toThrow(/64 hexadecimal/);
  });
});
