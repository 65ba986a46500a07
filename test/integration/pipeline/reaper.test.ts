import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packBundle } from '../../../src/lib/bundle-codec.js';
import { sweep } from '../../../src/worker/reap-processor.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient } from '../../helpers/web-client.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetchPreview(url, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function liveApp(client: WebChatClient, prompt: string): Promise<{ sessionId: string; url: string }> {
  const sent = await client.send(prompt);
  const sessionId = sent.spawn!.sessionId;
  const session = await until('live', async () => {
    const s = await t.app.repos.sessions.get(sessionId);
    return s?.status === 'live' ? s : undefined;
  });
  return { sessionId, url: session.previewUrl! };
}

/** The reaper job, run as the worker runs it: through the queue. */
async function runSweep(): Promise<void> {
  const job = await t.app.queues.reap.add('sweep', { kind: 'sweep', reason: 'manual' });
  await until('sweep done', async () => ['completed', 'failed'].includes(await job.getState()), 20_000);
}

describe('reaper', () => {
  it('destroys a session past its time, frees its port and tells the conversation', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const { sessionId, url } = await liveApp(client, 'a landing page for a yoga studio');
    expect(await answers(url)).toBe(true);

    await t.app.repos.sessions.update(sessionId, { expiresAt: new Date(Date.now() - 1000) });
    await runSweep();

    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('expired');
    await until('port closed', async () => !(await answers(url)));
    const told = await until('expired message', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('expired')),
    );
    expect(told.view.text).toContain('Its time ran out');
    const card = (await client.cards(sessionId))[0]!;
    expect(card.view.progress?.stage).toBe('expired');
    expect(card.view.buttons ?? []).toEqual([]);
    // The app is removed by its own destroy job, which records it after the port closed.
    await until('destroy recorded', async () =>
      (await t.app.repos.audit.listFor('session', sessionId)).some((a) => a.action === 'session.destroyed'),
    );
    expect(await t.app.providers.get('local')!.status(sessionId)).toBe('missing');
  });

  it('tells the owner once, ten minutes before the end, with Extend and Export; an extension re-arms it', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const { sessionId } = await liveApp(client, 'a countdown page for our hackathon');
    const notices = async () =>
      (await client.history()).filter((m) => m.role === 'bot' && / ends in /.test(m.view.title));

    // Not yet: the app has longer than the notice period left.
    await runSweep();
    expect(await notices()).toHaveLength(0);

    await t.app.repos.sessions.update(sessionId, { expiresAt: new Date(Date.now() + 5 * 60_000) });
    await runSweep();
    const [notice] = await until('the ending notice', async () => {
      const found = await notices();
      return found.length > 0 ? found : undefined;
    });
    expect(notice!.view.text).toMatch(/destroyed in \d+ min/);
    const labels = (notice!.view.buttons ?? []).map((b) => b.label);
    expect(labels).toEqual(['Extend', 'Export']);

    // Told once: later sweeps (or another worker's) add nothing.
    await runSweep();
    await runSweep();
    expect(await notices()).toHaveLength(1);

    // The notice's Export button gives the download link.
    const exported = await client.act('export', sessionId);
    expect(exported.replies?.some((r) => r.view.title.startsWith('Download'))).toBe(true);

    // Its Extend button moves the end; a new end near again gets a new notice.
    const extended = await client.act('extend', sessionId);
    expect(extended.status).toBe(200);
    const after = await t.app.repos.sessions.get(sessionId);
    expect(after!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
    await runSweep();
    expect(await notices()).toHaveLength(1);
    await t.app.repos.sessions.update(sessionId, { expiresAt: new Date(Date.now() + 3 * 60_000) });
    await runSweep();
    await until('a second notice for the new end', async () => (await notices()).length === 2);
  });

  it('ends an app that no session owns', async () => {
    const provider = t.app.providers.get('local')!;
    const orphan = 'orphan0app1';
    const packed = await packBundle([
      { path: 'package.json', content: JSON.stringify({ scripts: { start: 'node server.js' } }) },
      {
        path: 'server.js',
        content: "require('http').createServer((q, s) => s.end('orphan')).listen(process.env.PORT);",
      },
    ]);
    const stored = await t.app.store.put(orphan, 'b1', packed.tarball);
    const d = await provider.deploy({
      sessionId: orphan,
      buildId: 'b1',
      bundle: stored,
      bundleUrl: await t.app.store.signedUrl(stored.key, 60),
      fetchBundle: () => t.app.store.get(stored.key),
      onProgress: () => {},
      signal: AbortSignal.timeout(10_000),
    });
    await until('orphan up', () => answers(d.url));

    await runSweep();

    expect(await answers(d.url)).toBe(false);
    expect((await provider.list()).map((s) => s.sessionId)).not.toContain(orphan);
    const audit = await t.app.repos.audit.listFor('service', d.serviceId);
    expect(audit[0]).toMatchObject({ action: 'service.reaped', actor: 'reaper' });
  });

  it('restarts a live app whose process died (e.g. the service restarted)', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const { sessionId, url } = await liveApp(client, 'a guestbook for the office party');
    // What a crash of the machine or the service does: the app's process is gone.
    const state = JSON.parse(
      readFileSync(path.join(t.config.DATA_DIR, 'apps', sessionId, 'state.json'), 'utf8'),
    ) as { pid: number };
    process.kill(-state.pid, 'SIGKILL');
    await until('app down', async () => !(await answers(url)));
    expect(await t.app.providers.get('local')!.status(sessionId)).toBe('stopped');

    const report = await sweep(reapDeps());
    expect(report.restarted).toContain(sessionId);
    expect(await answers(url)).toBe(true);
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('live');
    await client.act('stop', sessionId);
  });

  it('re-enqueues a build whose job was lost between insert and enqueue', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    await t.app.queues.spawn.pause();
    const sent = await client.send('a notes app for recipes');
    const { sessionId, buildId } = sent.spawn!;
    const build = await t.app.repos.builds.get(buildId);
    await t.app.queues.spawn.remove(build!.jobId);
    await t.app.queues.spawn.resume();

    const report = await sweep({ ...reapDeps(), lostJobAfterMs: 0 });
    expect(report.recovered).toContain(buildId);
    await until(
      'live after recovery',
      async () => (await t.app.repos.sessions.get(sessionId))?.status === 'live',
    );
    await client.act('stop', sessionId);
  });
});

function reapDeps() {
  return {
    repos: t.app.repos,
    providers: t.app.providers,
    store: t.app.store,
    lifecycle: t.app.lifecycle,
    notifier: t.app.notifier,
    queues: t.app.queues,
    logger: t.logger,
    deployTimeoutMs: 15_000,
  };
}
