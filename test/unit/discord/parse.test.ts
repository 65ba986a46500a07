import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBuildRequest, parseCustomId, parseInteraction } from '../../../adapters/discord/parse.js';
import { customIdFor } from '../../../adapters/discord/render.js';
import { SpawnError } from '../../../src/errors.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/discord');
const APP = '1290000000000000001';
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Record<string, unknown>;

function refused(body: unknown): SpawnError {
  try {
    parseInteraction(body, APP);
  } catch (e) {
    expect(e).toBeInstanceOf(SpawnError);
    expect((e as SpawnError).code).toBe('ERR_BAD_REQUEST');
    return e as SpawnError;
  }
  throw new Error('expected a refusal');
}

describe('parseInteraction (recorded payload shapes)', () => {
  it('reads a PING', () => {
    expect(parseInteraction(fixture('interaction-ping'), APP)).toEqual({
      kind: 'ping',
      id: '1290000000000000101',
    });
  });

  it('reads /spawn in a guild channel: the member nick names the person', () => {
    expect(parseInteraction(fixture('interaction-command-guild'), APP)).toEqual({
      kind: 'command',
      id: '1290000000000000102',
      token: 'aW50ZXJhY3Rpb246MTI5MDAwMDAwMDAwMDAwMDEwMjpndWlsZA-_x',
      name: 'spawn',
      prompt: 'a todo list for my climbing gym',
      user: { id: '1290000000000000500', name: 'Ali' },
      guildId: '1290000000000000200',
      channelId: '1290000000000000300',
      channelIsThread: false,
    });
  });

  it('reads /spawn in a DM: no guild, the user at the top level', () => {
    expect(parseInteraction(fixture('interaction-command-dm'), APP)).toMatchObject({
      kind: 'command',
      prompt: 'status',
      user: { id: '1290000000000000500', name: 'alice' },
      guildId: undefined,
      channelId: '1290000000000000600',
    });
  });

  it('reads a Stop button pressed in a thread', () => {
    expect(parseInteraction(fixture('interaction-button-stop'), APP)).toMatchObject({
      kind: 'component',
      action: 'stop',
      sessionId: 'k7fq2m9xwd',
      user: { id: '1290000000000000501', name: 'Bob' },
      channelIsThread: true,
      messageId: '1290000000000000800',
    });
  });

  it('refuses what SpawnAI does not handle or never made', () => {
    const command = fixture('interaction-command-guild');
    const button = fixture('interaction-button-stop');
    refused('not an object');
    refused([]);
    refused({ ...command, id: 'abc' });
    refused({ ...command, application_id: '1290000000000000999' });
    refused({ ...command, token: '' });
    refused({ ...command, token: 'has spaces' });
    refused({ ...command, type: 4 });
    refused({ ...command, type: 5 });
    refused({ ...command, data: undefined });
    refused({ ...command, data: { name: 'spawn', options: 'prompt' } });
    refused({ ...command, data: { name: 'spawn', options: [{ name: 'prompt', type: 4, value: 3 }] } });
    refused({ ...command, member: undefined, user: undefined });
    refused({ ...command, channel_id: undefined, channel: undefined });
    for (const custom_id of [
      'stop:',
      'launch:k7fq2m9xwd',
      `stop:${'a'.repeat(120)}`,
      'stop:K7FQ',
      'stop k7fq2m9xwd',
    ]) {
      refused({ ...button, data: { component_type: 2, custom_id } });
    }
  });
});

describe('custom ids and build requests', () => {
  it('round-trips every action through a custom_id under 100 characters', () => {
    for (const action of ['stop', 'extend', 'pay-extend'] as const) {
      const id = customIdFor(action, 'k7fq2m9xwd');
      expect(id.length).toBeLessThanOrEqual(100);
      expect(parseCustomId(id)).toEqual({ action, sessionId: 'k7fq2m9xwd' });
    }
    expect(parseCustomId('upgrade:')).toEqual({ action: 'upgrade', sessionId: '' });
    expect(parseCustomId('buy:k7fq2m9xwd')).toEqual({ action: 'buy', sessionId: 'k7fq2m9xwd' });
  });

  it('tells a build request from a subcommand (public vs private deferral)', () => {
    expect(isBuildRequest('a todo list')).toBe(true);
    expect(isBuildRequest('stop-watch for runners')).toBe(true);
    expect(isBuildRequest('status of my orders dashboard')).toBe(true);
    expect(isBuildRequest('--on render a blog')).toBe(true);
    expect(isBuildRequest('status')).toBe(false);
    expect(isBuildRequest('Stop k7fq2m9xwd')).toBe(false);
    expect(isBuildRequest('list')).toBe(false);
    expect(isBuildRequest('help')).toBe(false);
    expect(isBuildRequest('')).toBe(false);
    expect(isBuildRequest(undefined)).toBe(false);
  });
});
