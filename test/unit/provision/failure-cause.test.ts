import { describe, expect, it } from 'vitest';
import { deployFailedError, failureCause } from '../../../src/provision/resilience/runtime.js';

const runtime = (m: string) => `[spawnai-runtime] ${m}`;

describe('whose failure a failed cloud deployment is', () => {
  it.each([
    [
      'the image could not be pulled',
      ['Failed to pull image "ghcr.io/x/runtime:1": unauthorized'],
      'platform',
    ],
    ['nothing logged at all (a quota, a platform error)', [], 'platform'],
    [
      'the bundle URL no longer works',
      [runtime('download: http://h/x.tar.gz'), '[spawnai-runtime] error: download failed: HTTP 400'],
      'platform',
    ],
    [
      'the app throws at start',
      [
        runtime('unpack: 3 files'),
        runtime('start: node server.js on port 8080'),
        'Error: Cannot find module',
      ],
      'app',
    ],
    ['its dependencies do not install', ['[spawnai-runtime] error: install failed: npm exited 1'], 'app'],
    ['a full page of the app’s own output', Array.from({ length: 50 }, (_, i) => `    at frame ${i}`), 'app'],
  ] as const)('%s', (_what, lines, cause) => {
    expect(failureCause(lines)).toBe(cause);
  });

  it('only the app’s own failures go to a repair turn; the others say the cloud failed', () => {
    const pull = deployFailedError('Railway', 'FAILED', ['Failed to pull image "r:1": unauthorized']);
    expect(pull.startup).toBeUndefined();
    expect(pull.userMessage).toContain('the cloud failed, not the app');
    const crash = deployFailedError('Railway', 'CRASHED', [runtime('start: node server.js'), 'TypeError: x']);
    expect(crash.startup?.logTail).toContain('TypeError: x');
  });
});
