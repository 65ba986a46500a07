import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { SpawnError } from '../../src/errors.js';
import { DISCORD_SIGNATURE_MAX_AGE_S } from './types.js';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX_SIGNATURE = /^[0-9a-fA-F]{128}$/;
const UNIX_SECONDS = /^\d{1,12}$/;

/** The application's public key (64 hex chars, as the Developer Portal shows it) as a key object. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new SpawnError('ERR_CONFIG', 'DISCORD_PUBLIC_KEY must be 64 hexadecimal characters.');
  }
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]),
    format: 'der',
    type: 'spki',
  });
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string) {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Checks an HTTP interaction: Ed25519 over `timestamp + raw body` with the application's key,
 * and a timestamp (unix seconds) within {@link DISCORD_SIGNATURE_MAX_AGE_S} of now, so a
 * captured request cannot be replayed later. Throws ERR_DISCORD_SIGNATURE (401) otherwise.
 * Uses node:crypto only: the webhook path loads no Discord SDK.
 */
export function verifyDiscordRequest(
  key: KeyObject,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawBody: Buffer,
  nowMs: number = Date.now(),
): void {
  const signature = header(headers, 'x-signature-ed25519');
  const timestamp = header(headers, 'x-signature-timestamp');
  if (!signature || !timestamp) {
    throw new SpawnError('ERR_DISCORD_SIGNATURE', 'Missing X-Signature-Ed25519 or X-Signature-Timestamp.');
  }
  if (!HEX_SIGNATURE.test(signature) || !UNIX_SECONDS.test(timestamp)) {
    throw new SpawnError('ERR_DISCORD_SIGNATURE', 'Malformed Discord signature headers.');
  }
  const ok = verify(
    null,
    Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]),
    key,
    Buffer.from(signature, 'hex'),
  );
  if (!ok) throw new SpawnError('ERR_DISCORD_SIGNATURE');
  // Checked after the signature so a forged request learns nothing about our clock.
  const ageS = Math.abs(nowMs / 1000 - Number(timestamp));
  if (ageS > DISCORD_SIGNATURE_MAX_AGE_S) {
    throw new SpawnError('ERR_DISCORD_SIGNATURE', 'The Discord request is too old (or from the future).');
  }
}
