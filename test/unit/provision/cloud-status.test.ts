import { describe, expect, it } from 'vitest';
import { deploymentOutcome, serviceState } from '../../../src/provision/cloud/provider.js';
import { RAILWAY_STATUS_WORDS } from '../../../src/provision/railway/api.js';
import { RENDER_STATUS_WORDS } from '../../../src/provision/render/api.js';

describe("each cloud's status words, mapped to our states", () => {
  it("Railway: every DeploymentStatus of its schema, as the deploy's outcome and the service's state", () => {
    const expected = {
      QUEUED: ['pending', 'running'],
      WAITING: ['pending', 'running'],
      INITIALIZING: ['pending', 'running'],
      BUILDING: ['pending', 'running'],
      DEPLOYING: ['pending', 'running'],
      NEEDS_APPROVAL: ['pending', 'running'],
      SUCCESS: ['succeeded', 'running'],
      SLEEPING: ['succeeded', 'running'],
      FAILED: ['failed', 'stopped'],
      CRASHED: ['failed', 'stopped'],
      REMOVING: ['failed', 'stopped'],
      REMOVED: ['failed', 'stopped'],
      SKIPPED: ['failed', 'stopped'],
    };
    for (const [word, [outcome, state]] of Object.entries(expected)) {
      expect([word, deploymentOutcome(RAILWAY_STATUS_WORDS, word)]).toEqual([word, outcome]);
      expect([word, serviceState(RAILWAY_STATUS_WORDS, word)]).toEqual([word, state]);
    }
    // A service that never had a deployment does not run.
    expect(serviceState(RAILWAY_STATUS_WORDS, undefined)).toBe('stopped');
  });

  it("Render: every deploy status as the deploy's outcome; a service runs unless suspended", () => {
    const outcomes = {
      created: 'pending',
      queued: 'pending',
      build_in_progress: 'pending',
      update_in_progress: 'pending',
      pre_deploy_in_progress: 'pending',
      live: 'succeeded',
      deactivated: 'failed',
      build_failed: 'failed',
      update_failed: 'failed',
      pre_deploy_failed: 'failed',
      canceled: 'failed',
    };
    for (const [word, outcome] of Object.entries(outcomes)) {
      expect([word, deploymentOutcome(RENDER_STATUS_WORDS, word)]).toEqual([word, outcome]);
    }
    expect(serviceState(RENDER_STATUS_WORDS, 'not_suspended')).toBe('running');
    expect(serviceState(RENDER_STATUS_WORDS, 'suspended')).toBe('stopped');
  });

  it('an unknown word is a deployment still on its way, not a failure', () => {
    expect(deploymentOutcome(RAILWAY_STATUS_WORDS, 'SOMETHING_NEW')).toBe('pending');
    expect(deploymentOutcome(RENDER_STATUS_WORDS, 'something_new')).toBe('pending');
  });
});
