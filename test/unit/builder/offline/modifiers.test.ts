import { describe, expect, it } from 'vitest';
import { parseModifiers } from '../../../../src/builder/offline/modifiers.js';

describe('parseModifiers', () => {
  it.each([
    ['dark mode please', 'dark'],
    ['switch to a dark theme', 'dark'],
    ['make it dark', 'dark'],
    ['can you make the background black', 'dark'],
    ['night mode', 'dark'],
    ['switch to light mode', 'light'],
    ['turn off dark mode', 'light'],
    ['no dark theme', 'light'],
    ['switch from light mode to dark mode', 'dark'],
  ])('theme: %j -> %s', (prompt, theme) => {
    expect(parseModifiers(prompt).theme).toBe(theme);
  });

  it.each([
    ['make it green', 'green'],
    ['use a violet accent', 'purple'],
    ['grey buttons', 'gray'],
    ['change the blue to red', 'red'],
    ['make it dark green', 'green'],
  ])('accent: %j -> %s', (prompt, accent) => {
    expect(parseModifiers(prompt).accent).toBe(accent);
  });

  it('does not read a shade of a colour as a theme', () => {
    expect(parseModifiers('make it dark green').theme).toBeUndefined();
    expect(parseModifiers('a lightweight todo list').theme).toBeUndefined();
  });

  it.each([
    ['call it Climb Log', 'Climb Log'],
    ['call it climb log', 'Climb Log'],
    ['rename to "Foo Bar"', 'Foo Bar'],
    ['rename it to Crag Crew.', 'Crag Crew'],
    ['title: Ski Club', 'Ski Club'],
    ['title Ski Club', 'Ski Club'],
    ['change the name to crag crew', 'Crag Crew'],
    ['call it Fish and Chips', 'Fish and Chips'],
    ['call it Climb Log and make it blue', 'Climb Log'],
    ['name it “Sweet Spot”, in dark mode', 'Sweet Spot'],
  ])('title: %j -> %j', (prompt, title) => {
    expect(parseModifiers(prompt).title).toBe(title);
  });

  it('understands several changes in one message', () => {
    const m = parseModifiers('call it Climb Log and make it blue, with dark mode');
    expect(m).toMatchObject({ title: 'Climb Log', accent: 'blue', theme: 'dark', unhandled: [] });
  });

  it('does not take "named after" for a name', () => {
    expect(parseModifiers('a blog named after my cat').title).toBeUndefined();
  });

  it('does not take "make the title bigger" for a new title', () => {
    const m = parseModifiers('make the title bigger');
    expect(m.title).toBeUndefined();
    expect(m.unhandled).toEqual(['bigger']);
  });

  it('lists what it could not do', () => {
    expect(parseModifiers('add a login page').unhandled).toEqual(['add', 'login']);
    expect(parseModifiers('make it green and add a calendar').unhandled).toEqual(['add', 'calendar']);
    expect(parseModifiers('please make it green').unhandled).toEqual([]);
  });

  it('keeps bare colour words in the rest (they may be names)', () => {
    const m = parseModifiers('a landing page for Green Valley Farm');
    expect(m.accent).toBe('green');
    expect(m.rest).toBe('a landing page for Green Valley Farm');
    expect(parseModifiers('a todo list in green').rest).toBe('a todo list');
  });
});
