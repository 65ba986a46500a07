import { describe, expect, it } from 'vitest';
import { logShowsOutOfMemory } from '../../../src/provision/local/limits.js';

// Each log below is what a real Node printed when it ran out of the memory its rlimits gave it
// (RLIMIT_DATA, --max-old-space-size), copied from runs on this project's supported lines.
const NODE_20_BUFFER = [
  'node:internal/buffer:1063',
  '  return new FastBuffer(createUnsafeArrayBuffer(size));',
  'RangeError: Array buffer allocation failed',
  '    at createUnsafeBuffer (node:internal/buffer:1063:25)',
  'Node.js v20.20.2',
];
const NODE_26_BUFFER = [
  'node:internal/buffer:1115',
  'RangeError: Failed to allocate memory',
  '    at createUnsafeBuffer (node:internal/buffer:1115:25)',
  "  code: 'ERR_MEMORY_ALLOCATION_FAILED'",
  'Node.js v26.12.1',
];
const NODE_20_HEAP = [
  '<--- JS stacktrace --->',
  'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
];
const NODE_26_HEAP = ['FATAL ERROR: CALL_AND_RETRY_LAST Allocation failed - JavaScript heap out of memory'];
const NODE_26_V8 = [
  '#',
  '# Fatal process out of memory: Failed to reserve virtual memory for CodeRange',
  '#',
];

describe('an app’s log read for running out of memory', () => {
  it.each([
    ['a Buffer on Node 20', NODE_20_BUFFER],
    ['a Buffer on Node 26', NODE_26_BUFFER],
    ['V8’s heap on Node 20', NODE_20_HEAP],
    ['V8’s heap on Node 26', NODE_26_HEAP],
    ['V8 itself on Node 26', NODE_26_V8],
  ])('knows %s', (_, lines) => {
    expect(logShowsOutOfMemory(lines)).toBe(true);
  });

  it('does not take other crashes for it', () => {
    expect(
      logShowsOutOfMemory([
        'Error: boom-at-start',
        'RangeError: Invalid array length',
        'Error: EFBIG: file too large, write',
        'Node.js v26.12.1',
      ]),
    ).toBe(false);
  });
});
