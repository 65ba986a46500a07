import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../bots/commands.js';

describe('parseCommand', () => {
  it.each([
    ['a todo list for my climbing gym', { kind: 'message', text: 'a todo list for my climbing gym' }],
    ['  make it dark  ', { kind: 'message', text: 'make it dark' }],
    ['/spawn a habit tracker with streaks', { kind: 'spawn', prompt: 'a habit tracker with streaks' }],
    ['/spawn@SpawnAIBot a blog', { kind: 'spawn', prompt: 'a blog' }],
    ['/spawn', { kind: 'spawn', prompt: '' }],
    ['/spawn status', { kind: 'status' }],
    ['/spawn stop k7fq2m9xwd', { kind: 'stop', sessionId: 'k7fq2m9xwd' }],
    ['/spawn stop-watch for runners', { kind: 'spawn', prompt: 'stop-watch for runners' }],
    ['/spawn list of my favourite films', { kind: 'spawn', prompt: 'list of my favourite films' }],
    ['/spawn list', { kind: 'list' }],
    ['/status', { kind: 'status' }],
    ['/status k7fq2m9xwd', { kind: 'status', sessionId: 'k7fq2m9xwd' }],
    ['/STOP', { kind: 'stop' }],
    ['/extend k7fq2m9xwd', { kind: 'extend', sessionId: 'k7fq2m9xwd' }],
    ['/help', { kind: 'help' }],
    ['/start', { kind: 'help' }],
    ['/list', { kind: 'list' }],
    ['/list everything', { kind: 'unknown', name: 'list everything' }],
    ['/stop ../../etc', { kind: 'unknown', name: 'stop ../../etc' }],
    ['/deploy now', { kind: 'unknown', name: 'deploy' }],
    ['/', { kind: 'message', text: '/' }],
  ])('%j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });
});

describe('parseCommand: providers and billing', () => {
  it.each([
    ['/spawn --on render a todo app', { kind: 'spawn', prompt: 'a todo app', provider: 'render' }],
    ['/spawn --on=railway a blog', { kind: 'spawn', prompt: 'a blog', provider: 'railway' }],
    [
      '/spawn --on heroku a blog',
      { kind: 'unknown', name: 'spawn --on heroku (providers: local, railway, render)' },
    ],
    ['/upgrade', { kind: 'upgrade' }],
    ['/spawn upgrade', { kind: 'upgrade' }],
    ['/buy', { kind: 'buy' }],
    ['/billing', { kind: 'billing' }],
    ['/spawn billing dashboard for a dentist', { kind: 'spawn', prompt: 'billing dashboard for a dentist' }],
  ])('%j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });
});

describe('parseCommand: words alone in a one-to-one chat (the web chat)', () => {
  it.each([
    ['help', { kind: 'help' }],
    ['Status', { kind: 'status' }],
    [' list ', { kind: 'list' }],
    ['stop', { kind: 'stop' }],
    ['extend k7fq2m9xwd', { kind: 'extend', sessionId: 'k7fq2m9xwd' }],
    ['stop the music', { kind: 'message', text: 'stop the music' }],
    ['list of my favourite films', { kind: 'message', text: 'list of my favourite films' }],
    ['help k7fq2m9xwd', { kind: 'message', text: 'help k7fq2m9xwd' }],
    ['statuses', { kind: 'message', text: 'statuses' }],
  ])('%j', (text, expected) => {
    expect(parseCommand(text, { bareWords: true })).toEqual(expected);
  });

  it('leaves the words alone elsewhere (a group chat may be asking for a change)', () => {
    expect(parseCommand('help')).toEqual({ kind: 'message', text: 'help' });
  });
});
