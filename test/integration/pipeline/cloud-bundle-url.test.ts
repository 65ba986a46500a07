import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudFakes } from '../../fakes/railway/cloud-env.js';
import { type TestApp, until } from '../../helpers/app.js';
import { type CloudApp, startCloudApp } from '../../helpers/cloud-app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * A cloud provider downloads an app's bundle again whenever it restarts the app, at any time
 * while the session lives. Whichever path deployed it (a new build, the rollback after a failed
 * change, the reaper's redeploy of a crashed app), the signed URL must still work near the end
 * of the longest life the session may have. Supabase's fake keeps its own clock, moved ahead.
 * All three sign their own URL with the same lifetime: the session's latest possible end + 1 h.
 */

const MAX_SESSION_MINUTES = 180;
const MINUTE_MS = 60_000;
const BUNDLE_URL_MARGIN_MS = 60 * MINUTE_MS;

let fakes: CloudFakes;
let t: TestApp;
let app: CloudApp | undefined;

beforeAll(async () => {
  app = await startCloudApp({
    PROVIDER: 'railway',
    SESSION_TTL_MINUTES: '60',
    SESSION_MAX_MINUTES: String(MAX_SESSION_MINUTES),
  });
  ({ fakes, t } = app);
});
afterAll(async () => {
  await app?.stop();
});

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetchPreview(url, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false;
  }
}

/**
 * Moves Supabase's clock to a minute before the session's latest possible end (its creation
 * plus the plan's longest lifetime), restarts the app on Railway, and says whether it came
 * back: the runtime downloads the bundle again from the URL of its deployment.
 */
async function restartNearTheEnd(sessionId: string): Promise<{ outcome: string; logs: string[] }> {
  const session = (await t.app.repos.sessions.get(sessionId))!;
  const end = session.createdAt.getTime() + MAX_SESSION_MINUTES * MINUTE_MS;
  fakes.supabase.clockOffsetMs = end - MINUTE_MS - Date.now();
  try {
    const outcome = await fakes.railway.restart(session.serviceId!);
    return { outcome, logs: fakes.railway.latestDeployment(session.serviceId!)?.process?.logs ?? [] };
  } finally {
    fakes.supabase.clockOffsetMs = 0;
  }
}

/**
 * Checks the bundle URL the service's current deployment was given (what Railway received)
 * works until the session's latest possible end + 1 h, and not much longer.
 */
async function expectBundleUrlLifetime(sessionId: string): Promise<void> {
  const session = (await t.app.repos.sessions.get(sessionId))!;
  const url = fakes.railway.latestDeployment(session.serviceId!)?.variables.BUNDLE_URL;
  if (!url) throw new Error('the deployment has no BUNDLE_URL');
  const expiresAt = fakes.supabase.signedUrlExpiresAt(url);
  const until = session.createdAt.getTime() + MAX_SESSION_MINUTES * MINUTE_MS + BUNDLE_URL_MARGIN_MS;
  expect(Math.abs(expiresAt! - until), 'the URL works until the latest end + 1 h').toBeLessThanOrEqual(5_000);
}

describe('the bundle URL of a cloud app lasts as long as its session may', () => {
  it('a restart after the first hours still fetches the bundle, after a build, a rollback and a redeploy', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a guestbook for the climbing club');
    const sessionId = sent.spawn!.sessionId;
    const live = await until(
      'live',
      async () => {
        const s = await t.app.repos.sessions.get(sessionId);
        if (s?.status === 'failed') throw new Error('session failed');
        return s?.status === 'live' ? s : undefined;
      },
      60_000,
    );
    const url = live.previewUrl!;

    // 1. The deploy of the new build.
    await expectBundleUrlLifetime(sessionId);
    const afterBuild = await restartNearTheEnd(sessionId);
    expect(afterBuild.outcome, afterBuild.logs.join('\n')).toBe('ready');
    expect(await answers(url)).toBe(true);

    // 2. A change whose deploy fails at Railway: the last good build is put back.
    fakes.railway.failNextDeployment('FAILED', ['Error: the platform could not start the container']);
    const change = await client.send('make it dark');
    expect(change.spawn?.iteration).toBe(2);
    const serviceId = live.serviceId!;
    await until(
      'change failed and rolled back',
      async () => {
        const builds = await t.app.repos.builds.listForSession(sessionId);
        const deployments = fakes.railway.services.get(serviceId)?.deploymentIds.length ?? 0;
        // The build's deployment, the failed change's, and the rollback's, now live.
        return (
          builds[1]?.status === 'failed' &&
          deployments >= 3 &&
          fakes.railway.latestDeployment(serviceId)?.status === 'SUCCESS'
        );
      },
      60_000,
    );
    await until('failure told', async () =>
      (await client.cards(sessionId)).find((c) => c.view.tone === 'error'),
    );
    await expectBundleUrlLifetime(sessionId);
    const afterRollback = await restartNearTheEnd(sessionId);
    expect(afterRollback.outcome, afterRollback.logs.join('\n')).toBe('ready');
    expect(await answers(url)).toBe(true);

    // 3. The app crashes; the reaper redeploys the last good build.
    await fakes.railway.crash(serviceId);
    await until('app down', async () => !(await answers(url)));
    await until(
      'redeployed by the reaper',
      async () => {
        const job = await t.app.queues.reap.add('sweep', { kind: 'sweep', reason: 'manual' });
        await until('sweep done', async () => ['completed', 'failed'].includes(await job.getState()), 30_000);
        const audit = await t.app.repos.audit.listFor('session', sessionId);
        return audit.some((a) => a.action === 'session.restarted') && (await answers(url));
      },
      60_000,
      500,
    );
    await expectBundleUrlLifetime(sessionId);
    const afterRedeploy = await restartNearTheEnd(sessionId);
    expect(afterRedeploy.outcome, afterRedeploy.logs.join('\n')).toBe('ready');
    expect(await answers(url)).toBe(true);
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('live');
    await client.act('stop', sessionId);
  }, 240_000);
});
