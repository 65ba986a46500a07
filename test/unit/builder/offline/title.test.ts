import { describe, expect, it } from 'vitest';
import { titleFromPrompt } from '../../../../src/builder/offline/index.js';
import { pluralize, resourceFromPrompt, singularize } from '../../../../src/builder/offline/resource.js';
import { describePrompt, slugify } from '../../../../src/builder/offline/title.js';

describe('titleFromPrompt', () => {
  it.each([
    ['a todo list for my climbing gym', 'Todo List for My Climbing Gym'],
    ['build me a todo list for my climbing gym', 'Todo List for My Climbing Gym'],
    ['Please make me a simple landing page for my bakery', 'Landing Page for My Bakery'],
    ['I want an API for books', 'API for Books'],
    ['could you create a REST API for recipes please', 'REST API for Recipes'],
    ['/spawn a guestbook for our wedding', 'Guestbook for Our Wedding'],
    ['hey, can you build a blog about sourdough?', 'Blog About Sourdough'],
    ['make a note-taking app. It should sync with my phone', 'Note-Taking App'],
    ['a landing page for a bakery that sells sourdough', 'Landing Page for a Bakery'],
    ['an API that stores user profiles', 'API That Stores User Profiles'],
    ['a fan site for my iPhone and NASA photos', 'Fan Site for My iPhone and NASA Photos'],
    ['a todo list with dark mode', 'Todo List'],
    ['a landing page in green for Green Valley Farm', 'Landing Page for Green Valley Farm'],
    ['a todo list called climb log', 'Climb Log'],
    ['a blog named "The Daily Crumb"', 'The Daily Crumb'],
  ])('%j -> %j', (prompt, title) => {
    expect(titleFromPrompt(prompt)).toBe(title);
  });

  it('caps long titles at a word boundary without a dangling word', () => {
    const title = titleFromPrompt(
      'a website for the annual regional championship of competitive extreme ironing enthusiasts and their families',
    );
    expect(title.length).toBeLessThanOrEqual(60);
    expect(title).toBe('Website for the Annual Regional Championship of Competitive');
    expect(title).not.toMatch(/\s(?:of|and|for|the)$/i);
  });

  it('cuts a single very long word', () => {
    expect(titleFromPrompt(`a ${'x'.repeat(100)}`)).toHaveLength(60);
  });

  it('falls back when nothing is left', () => {
    expect(titleFromPrompt('')).toBe('My App');
    expect(titleFromPrompt('please build me')).toBe('My App');
    expect(titleFromPrompt('   ', 'Fallback')).toBe('Fallback');
  });

  it('keeps the person’s own capitals and folds whitespace', () => {
    expect(titleFromPrompt('a  dashboard\nfor   ACME sales')).toBe('Dashboard for ACME Sales');
  });
});

describe('describePrompt', () => {
  it('drops the request but keeps the sentence', () => {
    expect(describePrompt('build me a todo list for my climbing gym')).toBe(
      'A todo list for my climbing gym.',
    );
    expect(describePrompt('A blog! With posts?')).toBe('A blog! With posts?');
    expect(describePrompt('')).toBe('');
  });

  it('caps long prompts', () => {
    const description = describePrompt(`a todo list ${'with many words '.repeat(40)}`);
    expect(description.length).toBeLessThanOrEqual(281);
    expect(description.endsWith('…')).toBe(true);
  });
});

describe('slugify', () => {
  it('makes npm-safe names', () => {
    expect(slugify('Todo List for My Climbing Gym')).toBe('todo-list-for-my-climbing-gym');
    expect(slugify('Café "Crème" </script>')).toBe('cafe-creme-script');
    expect(slugify('!!!')).toBe('spawnai-app');
    expect(slugify('a'.repeat(80))).toHaveLength(50);
  });
});

describe('resourceFromPrompt', () => {
  it.each([
    ['an API for books', 'books'],
    ['I want an API for books', 'books'],
    ['a REST API to manage my movie collection', 'movies'],
    ['an API that stores user profiles', 'profiles'],
    ['a REST API for a library of books', 'books'],
    ['a books API', 'books'],
    ['a todo list API', 'todos'],
    ['a JSON API for my recipes', 'recipes'],
    ['a CRUD backend for inventory', 'inventories'],
    ['an API for a person registry', 'people'],
    ['a simple JSON API', 'items'],
    ['an API for Bücher', 'items'],
    // Only a plain word survives, so markup cannot reach a path, JSON or JS.
    ['an API for </script>', 'scripts'],
    ['an API for "quotes"', 'quotes'],
  ])('%j -> %s', (prompt, resource) => {
    expect(resourceFromPrompt(prompt)).toBe(resource);
  });

  it('pluralizes and singularizes simply', () => {
    expect(['book', 'category', 'box', 'church', 'day', 'child', 'news'].map(pluralize)).toEqual([
      'books',
      'categories',
      'boxes',
      'churches',
      'days',
      'children',
      'news',
    ]);
    expect(['books', 'categories', 'boxes', 'people', 'glass'].map(singularize)).toEqual([
      'book',
      'category',
      'box',
      'person',
      'glass',
    ]);
  });
});
