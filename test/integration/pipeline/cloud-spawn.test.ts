import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudFakes } from '../../fakes/railway/cloud-env.js';
import { type TestApp, until } from '../../helpers/app.js';
import { type CloudApp, startCloudApp } from '../../helpers/cloud-app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * The whole service with Railway and Render configured (fakes speaking their APIs) and bundles
 * in Supabase Storage (a fake too): a person chats through the web chat; the fakes run each
 * deployment with the real runtime bootstrap, which downloads the bundle from its signed URL.
 */

let fakes: CloudFakes;
let t: TestApp;
let app: CloudApp | undefined;

beforeAll(async () => {
  app = await startCloudApp({
    PROVIDER: 'railway',
    FREE_LIVE_SESSIONS: '10',
    FREE_BUILDS_PER_DAY: '50',
    RENDER_MAX_CREATES_PER_HOUR: '2',
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

async function live(sessionId: string) {
  return until(
    `session ${sessionId} live`,
    async () => {
      const s = await t.app.repos.sessions.get(sessionId);
      if (s?.status === 'failed') throw new Error(`session failed: ${JSON.stringify(s)}`);
      return s?.status === 'live' ? s : undefined;
    },
    30_000,
  );
}

function bundlesOf(sessionId: string): string[] {
  return fakes.supabase.keys('bundles').filter((k) => k.startsWith(`${sessionId}/`));
}

async function runSweep(): Promise<void> {
  const job = await t.app.queues.reap.add('sweep', { kind: 'sweep', reason: 'manual' });
  await until('sweep done', async () => ['completed', 'failed'].includes(await job.getState()), 20_000);
}

describe('spawning on the cloud providers', () => {
  it('Railway: the app goes live at a URL that answers 200; stop deletes the service and the bundle', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a todo list for my climbing gym');
    const { sessionId, buildId } = sent.spawn!;
    const session = await live(sessionId);
    expect(session.provider).toBe('railway');
    const url = session.previewUrl!;
    const page = await fetchPreview(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>[^<]*Climbing Gym[^<]*<\/title>/);

    // What Railway holds: one service from the runtime image, told where the bundle is.
    const services = fakes.railway.servicesNamed(`spawn-${sessionId}`);
    expect(services).toHaveLength(1);
    const build = await t.app.repos.builds.get(buildId);
    expect(services[0]).toMatchObject({ id: session.serviceId, image: 'ghcr.io/spawnai/runtime:1' });
    expect(services[0]!.variables.BUNDLE_SHA256).toBe(build!.bundleSha256);
    expect(services[0]!.variables.BUNDLE_URL).toMatch(
      new RegExp(
        `^${fakes.supabase.url}/storage/v1/object/sign/bundles/${sessionId}/${buildId}\\.tar\\.gz\\?token=`,
      ),
    );
    expect(services[0]!.variables.PORT).toBe('8080');
    expect(bundlesOf(sessionId)).toEqual([`${sessionId}/${buildId}.tar.gz`]);
    expect(
      fakes.supabase.buckets.get('bundles')!.objects.get(`${sessionId}/${buildId}.tar.gz`)!.contentType,
    ).toBe('application/gzip');

    // What the person sees: the link to that URL.
    const result = await until('result message', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('is ready')),
    );
    expect(result.view.text).toContain(url);

    // Stop: the service and the bundle are gone, and the URL no longer answers.
    await client.act('stop', sessionId);
    await until(
      'service deleted',
      async () => fakes.railway.servicesNamed(`spawn-${sessionId}`).length === 0,
    );
    await until('bundle deleted', async () => bundlesOf(sessionId).length === 0);
    expect(await answers(url)).toBe(false);
    await until('stopped card', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('stopped')),
    );
    // Recorded after the bundle's deletion, so it may come a moment after what the person sees.
    const destroyed = await until('destroy recorded', async () =>
      (await t.app.repos.audit.listFor('session', sessionId)).find((a) => a.action === 'session.destroyed'),
    );
    expect(destroyed.data).toMatchObject({ providers: ['railway'] });
  });

  it('Render: `/spawn --on render` runs the app there; stop deletes the service and the bundle', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('/spawn --on render a guestbook for our wedding');
    const { sessionId } = sent.spawn!;
    const session = await live(sessionId);
    expect(session.provider).toBe('render');
    expect(await answers(session.previewUrl!)).toBe(true);
    const [service] = fakes.render.servicesNamed(`spawn-${sessionId}`);
    expect(service).toMatchObject({
      id: session.serviceId,
      serviceDetails: { url: session.previewUrl, healthCheckPath: '/' },
    });
    expect(fakes.railway.servicesNamed(`spawn-${sessionId}`)).toEqual([]);

    await client.act('stop', sessionId);
    await until('service deleted', async () => fakes.render.servicesNamed(`spawn-${sessionId}`).length === 0);
    await until('bundle deleted', async () => bundlesOf(sessionId).length === 0);
    expect(await answers(session.previewUrl!)).toBe(false);
  });

  it('a deploy that fails at the provider ends the session failed, shows its status and reason, and leaves no service', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    // The runtime downloads bytes that do not match the bundle's checksum and refuses to run them.
    fakes.supabase.corruptDownloads = true;
    let sessionId = '';
    try {
      const sent = await client.send('a landing page for a bakery');
      sessionId = sent.spawn!.sessionId;
      await until(
        'failed',
        async () => (await t.app.repos.sessions.get(sessionId))?.status === 'failed',
        30_000,
      );
    } finally {
      fakes.supabase.corruptDownloads = false;
    }
    const card = await until('failure message', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('build failed')),
    );
    // The runtime refused the download before the app ran: the cloud's failure, not the app's.
    expect(card.view.text).toContain(
      'I could not build it: Railway reported the deployment FAILED before the app ran: the cloud failed, not the app.',
    );
    expect(card.view.text).toContain('bundle checksum mismatch');
    expect(card.view.text).not.toContain('token=');
    const [build] = await t.app.repos.builds.listForSession(sessionId);
    expect(build).toMatchObject({ status: 'failed', errorCode: 'ERR_DEPLOY_FAILED' });
    // Not retried (the provider's verdict is final), and nothing left running or billing.
    expect(fakes.railway.created.filter((n) => n === `spawn-${sessionId}`)).toHaveLength(1);
    await until(
      'service removed',
      async () => fakes.railway.servicesNamed(`spawn-${sessionId}`).length === 0,
    );
  });

  it("refuses a new Render app once Render's hourly budget is spent, saying how long to wait", async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const before = fakes.render.created.length;
    const started: string[] = [];
    // The budget (2 per hour here) is shared with the other tests: spawn until it is spent.
    for (let i = 0; i < 3; i++) {
      const sessionId = (await client.send(`/spawn --on render a landing page for shop ${i}`)).spawn!
        .sessionId;
      const ended = await until(
        `session ${sessionId} settled`,
        async () => {
          const s = await t.app.repos.sessions.get(sessionId);
          return s && ['live', 'failed'].includes(s.status) ? s : undefined;
        },
        30_000,
      );
      if (ended.status === 'live') {
        started.push(sessionId);
        continue;
      }
      const card = await until('failure message', async () =>
        (await client.cards(sessionId)).find((c) => c.view.title.endsWith('build failed')),
      );
      expect(card.view.text).toContain('Render allows 2 new apps per hour; try again in 60 minutes.');
      const [build] = await t.app.repos.builds.listForSession(sessionId);
      expect(build).toMatchObject({ status: 'failed', errorCode: 'ERR_PROVIDER_QUOTA' });
      expect(fakes.render.servicesNamed(`spawn-${sessionId}`)).toEqual([]);
      break;
    }
    expect(fakes.render.created.length - before).toBe(started.length);
    expect(started.length).toBeLessThan(3);
    for (const id of started) await client.act('stop', id);
  });

  it('the reaper deletes spawn-* services no live session owns, on both providers, and audits each', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const keep = await live((await client.send('a notes app for recipes')).spawn!.sessionId);
    const onRailway = await fakes.railway.seedService('spawn-orphan0railway');
    const onRender = await fakes.render.seedService('spawn-orphan0render');
    const notOurs = await fakes.railway.seedService('postgres');

    await runSweep();

    expect(fakes.railway.services.has(onRailway.id)).toBe(false);
    expect(fakes.render.services.has(onRender.id)).toBe(false);
    expect(fakes.railway.services.has(notOurs.id)).toBe(true);
    expect(fakes.railway.services.has(keep.serviceId!)).toBe(true);
    expect(await answers(keep.previewUrl!)).toBe(true);
    for (const [provider, id] of [
      ['railway', onRailway.id],
      ['render', onRender.id],
    ] as const) {
      const [row] = await t.app.repos.audit.listFor('service', id);
      expect(row).toMatchObject({ actor: 'reaper', action: 'service.reaped' });
      expect(row!.data).toMatchObject({ provider, why: 'no such session' });
    }
    await client.act('stop', keep.id);
    await until('service deleted', async () => !fakes.railway.services.has(keep.serviceId!));
  });
});
