import { describe, expect, it } from 'vitest';
import { chooseTemplate } from '../../../../src/builder/offline/index.js';
import type { TemplateId } from '../../../../src/builder/offline/templates/types.js';

const CASES: readonly (readonly [string, TemplateId])[] = [
  ['a todo list for my climbing gym', 'todo'],
  ['build me a to-do app with dark mode', 'todo'],
  ['a checklist for packing before a trip', 'todo'],
  ['a page to track my tasks', 'todo'],
  ['a shopping list for the family', 'todo'],
  ['a landing page for my bakery', 'landing'],
  ['a landing page with a signup form', 'landing'],
  ['a portfolio for a wedding photographer', 'landing'],
  ['a coming soon page for my startup', 'landing'],
  ['a website for my dog walking business', 'landing'],
  ['a blog about sourdough', 'notes'],
  ['a note-taking app for class', 'notes'],
  ['a diary where I can write every evening', 'notes'],
  ['a dashboard with a chart of weekly sales', 'dashboard'],
  ['show my running stats as a bar chart', 'dashboard'],
  ['an analytics page for my newsletter', 'dashboard'],
  ['an app to keep track of my expenses', 'dashboard'],
  ['an API for books', 'rest-api'],
  ['a REST API to manage my movie collection', 'rest-api'],
  ['a todo list API', 'rest-api'],
  ['a CRUD backend for inventory', 'rest-api'],
  ['a guestbook for my wedding', 'guestbook'],
  ['a contact form for my bakery website', 'guestbook'],
  ['an RSVP page for our party', 'guestbook'],
  ['collect feedback after my workshop', 'guestbook'],
  ['a todo list with a chart of what I finished', 'todo'],
  ['hello', 'landing'],
  ['', 'landing'],
  ['something nice for my grandmother', 'landing'],
];

describe('chooseTemplate', () => {
  it.each(CASES)('%j -> %s', (prompt, expected) => {
    expect(chooseTemplate(prompt)).toBe(expected);
  });

  it('is not fooled by case', () => {
    expect(chooseTemplate('A DASHBOARD FOR MY SHOP')).toBe('dashboard');
    expect(chooseTemplate('My Guestbook')).toBe('guestbook');
  });
});
