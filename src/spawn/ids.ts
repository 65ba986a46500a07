import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // no 0/o, 1/l: people type these ids

/** A short session id people can type (`/stop k7fq2m9xwd`); starts with a letter. */
export function newSessionId(length = 10): string {
  const bytes = randomBytes(length);
  let id = ALPHABET[bytes[0]! % 24]!; // first of the letters only
  for (let i = 1; i < length; i++) id += ALPHABET[bytes[i]! % ALPHABET.length]!;
  return id;
}

export const SESSION_ID_PATTERN = /^[a-z][a-z0-9]{5,15}$/;
