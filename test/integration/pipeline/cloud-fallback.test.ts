import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRow } from '../../../src/db/repos/index.js';
import type { CloudFakes } from '../../fakes/railway/cloud-env.js';
import { type TestApp, until } from '../../helpers/app.js';
import { type CloudApp, startCloudApp } from '../../helpers/cloud-app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

/** PROVIDER_FALLBACK: a new app goes to the other cloud when its own refuses. */

async function settled(t: TestApp, sessionId: string): Promise<SessionRow> {
  return until(
    `session ${sessionId} live or failed`,
    async () => {
      const s = await t.app.repos.sessions.get(sessionId);
      return s && ['live', 'failed'].includes(s.status) ? s : undefined;
    },
    40_000,
    200,
  );
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetchPreview(url, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false;
  }
}

describe('Railway down, fallback on: the app runs on Render', () => {
  let fakes: CloudFakes;
  let t: TestApp;
  let app: CloudApp | undefined;
  beforeAll(async () => {
    app = await startCloudApp({ PROVIDER: 'railway', PROVIDER_FALLBACK: 'true', JOB_ATTEMPTS: '5' });
    ({ fakes, t } = app);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('opens the circuit after repeated failures, moves the session to Render, audits it and tells the person', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    fakes.railway.outage = true;
    let session: SessionRow;
    let sessionId = '';
    try {
      sessionId = (await client.send('a dashboard of our sales')).spawn!.sessionId;
      session = await settled(t, sessionId);
    } finally {
      fakes.railway.outage = false;
    }
    expect(session.status).toBe('live');
    expect(session.provider).toBe('render');
    expect(await answers(session.previewUrl!)).toBe(true);
    expect(fakes.render.servicesNamed(`spawn-${sessionId}`)).toHaveLength(1);
    expect(fakes.railway.servicesNamed(`spawn-${sessionId}`)).toEqual([]);

    const switched = (await t.app.repos.audit.listFor('session', sessionId)).find(
      (a) => a.action === 'session.provider_switched',
    );
    expect(switched).toMatchObject({ actor: 'worker' });
    expect(switched!.data).toEqual({
      from: 'railway',
      to: 'render',
      reason: 'Railway is unavailable right now',
    });
    const card = await until('live status card', async () => {
      const [status] = await client.cards(sessionId);
      return status?.view.progress?.stage === 'live' ? status : undefined;
    });
    expect(card.view.text).toContain('Railway is unavailable right now; running it on Render instead.');

    // While the circuit is open, the next app goes straight to Render, without calling Railway.
    const before = fakes.railway.requests;
    const next = (await client.send('/spawn a guestbook for the office')).spawn!.sessionId;
    const second = await settled(t, next);
    expect(second).toMatchObject({ status: 'live', provider: 'render' });
    expect(fakes.railway.requests).toBe(before);
    for (const id of [sessionId, next]) await client.act('stop', id);
    await until('render services deleted', async () => fakes.render.services.size === 0);
  });
});

describe("Render's hourly budget spent, fallback on: the app runs on Railway", () => {
  let fakes: CloudFakes;
  let t: TestApp;
  let app: CloudApp | undefined;
  beforeAll(async () => {
    app = await startCloudApp({
      PROVIDER: 'render',
      PROVIDER_FALLBACK: 'true',
      RENDER_MAX_CREATES_PER_HOUR: '1',
    });
    ({ fakes, t } = app);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('moves the second new app to Railway and says why', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const first = (await client.send('a todo list for the garden')).spawn!.sessionId;
    expect(await settled(t, first)).toMatchObject({ status: 'live', provider: 'render' });
    const second = (await client.send('/spawn a landing page for a bakery')).spawn!.sessionId;
    const session = await settled(t, second);
    expect(session).toMatchObject({ status: 'live', provider: 'railway' });
    expect(await answers(session.previewUrl!)).toBe(true);
    expect(fakes.render.created).toHaveLength(1);
    expect(fakes.railway.servicesNamed(`spawn-${second}`)).toHaveLength(1);
    const card = await until('live status card', async () => {
      const [status] = await client.cards(second);
      return status?.view.progress?.stage === 'live' ? status : undefined;
    });
    expect(card.view.text).toContain('Render allows 1 new app per hour; running it on Railway instead.');
    await client.act('stop', first);
    await client.act('stop', second);
    await until(
      'services deleted',
      async () => fakes.render.services.size + fakes.railway.services.size === 0,
    );
  });
});
