import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLATFORMS } from '../../../src/core/platform.js';

const ADAPTERS = path.resolve(import.meta.dirname, '../../../adapters');

/**
 * The parts every platform folder has, under the same names, so a reader (or a new platform)
 * finds each step in the same place. A platform without one of them (the web chat holds no
 * connection and needs no setup) says so in a one-line file of that name.
 */
const PARTS = [
  'index.ts', // the factory: its own config slice and narrow services in, a PlatformAdapter out
  'verify.ts', // who sent it: signatures, secrets, signed cookies
  'parse.ts', // the platform's payloads into our platform-neutral input
  'render.ts', // a ReplyView into the platform's format, within its limits
  'messenger.ts', // post and edit
  'routes.ts', // the HTTP routes on the web process
  'connection.ts', // the long-lived connection (gateway, Socket Mode, long polling)
  'setup.ts', // `spawnai <platform> ...` setup commands (manifest, command registration, webhook)
] as const;

const folders = readdirSync(ADAPTERS).filter((f) => statSync(path.join(ADAPTERS, f)).isDirectory());

describe('one adapter shape', () => {
  it('every platform has a folder, and every folder is a platform', () => {
    expect([...folders].sort()).toEqual([...PLATFORMS].sort());
  });

  it.each(folders)('adapters/%s has every part', (platform) => {
    const missing = PARTS.filter((part) => !existsSync(path.join(ADAPTERS, platform, part)));
    expect(missing, `adapters/${platform} lacks ${missing.join(', ')}`).toEqual([]);
  });
});
