import { describe, expect, it } from 'vitest';
import { hasUnstorableText, storableText } from '../../../src/core/text.js';

describe('text Postgres cannot keep', () => {
  it.each([
    ['a\u0000b', true, 'a\ufffdb'],
    ['tail \ud83d', true, 'tail \ufffd'],
    ['\udc00 head', true, '\ufffd head'],
    ['emoji 😀 and ü', false, 'emoji 😀 and ü'],
    ['', false, ''],
  ])('%j', (text, bad, stored) => {
    expect(hasUnstorableText(text)).toBe(bad);
    expect(storableText(text)).toBe(stored);
    expect(hasUnstorableText(storableText(text))).toBe(false);
  });
});
