import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { fetchPreview } from '../../helpers/preview.js';
import { WebChatClient, type WebMessage } from '../../helpers/web-client.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ FREE_LIVE_SESSIONS: '2', PROMPT_MAX_CHARS: '500' });
});
afterAll(async () => {
  await t?.stop();
});

async function liveCard(client: WebChatClient, sessionId: string, iteration = 1): Promise<WebMessage> {
  return until(`session ${sessionId} change ${iteration} live`, async () => {
    const cards = await client.cards(sessionId);
    return cards.find(
      (c) =>
        c.view.tone === 'success' &&
        c.view.title.endsWith('is ready') &&
        (iteration === 1 ? !c.view.text.includes('Change #') : c.view.text.includes(`Change #${iteration}`)),
    );
  });
}

describe('web chat: from a message to a running app', () => {
  it('builds, deploys and links a working app titled from the prompt', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a todo list for my climbing gym');
    expect(sent.status).toBe(202);
    expect(sent.spawn?.iteration).toBe(1);
    const sessionId = sent.spawn!.sessionId;

    const result = await liveCard(client, sessionId);
    expect(result.view.footer).toContain('offline builder');
    const open = result.view.buttons?.find((b) => b.kind === 'link');
    expect(open?.kind === 'link' && open.url).toMatch(/^http:\/\/[a-z0-9]+\.localhost:\d+$/);
    const url = open?.kind === 'link' ? open.url : '';
    const page = await fetchPreview(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>[^<]*Climbing Gym[^<]*<\/title>/);

    // The status card was edited in place to its final state; only the result is a second message.
    const cards = await client.cards(sessionId);
    expect(cards).toHaveLength(2);
    expect(cards[0]!.view.progress).toMatchObject({ stage: 'live', percent: 100 });
    expect(cards[0]!.view.text).toContain(url);

    // The app works: add a todo over its own API and read it back.
    const add = await fetchPreview(`${url}/api/todos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'chalk bags' }),
    });
    expect(add.status).toBeLessThan(300);
    expect(JSON.stringify(await (await fetchPreview(`${url}/api/todos`)).json())).toContain('chalk bags');

    const session = await t.app.repos.sessions.get(sessionId);
    expect(session?.status).toBe('live');
    expect(session?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    const [build] = await t.app.repos.builds.listForSession(sessionId);
    expect(build).toMatchObject({ status: 'succeeded', builder: 'offline', iteration: 1 });
    expect(build?.bundleSha256).toMatch(/^[0-9a-f]{64}$/);
    const audit = await t.app.repos.audit.listFor('session', sessionId);
    expect(audit.map((a) => (a.data as { to?: string }).to).filter(Boolean)).toEqual([
      'building',
      'deploying',
      'live',
    ]);

    // A follow-up in the same conversation is a new build of the same session.
    const followUp = await client.send('make it dark mode and call it Crux Crew Tasks');
    expect(followUp.spawn).toMatchObject({ sessionId, iteration: 2 });
    const second = await liveCard(client, sessionId, 2);
    expect(second.view.text).toContain(url);
    const html = await (await fetchPreview(url)).text();
    expect(html).toContain('Crux Crew Tasks');
    expect((await t.app.repos.builds.listForSession(sessionId)).map((b) => b.status)).toEqual([
      'succeeded',
      'succeeded',
    ]);

    // Stop: the card says so and the port stops answering.
    const stopped = await client.act('stop', sessionId);
    expect(stopped.status).toBe(200);
    await until('app gone', async () => {
      const res = await fetchPreview(url, { signal: AbortSignal.timeout(500) }).catch(() => undefined);
      return res?.status !== 200;
    });
    await until('stopped card', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('stopped')),
    );
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('stopped');
    // Each change had its own status card: the first one no longer shows the app live either.
    const statusCards = await until('both status cards stopped', async () => {
      const withProgress = (await client.cards(sessionId)).filter((c) => c.view.progress);
      return withProgress.length === 2 && withProgress.every((c) => c.view.progress?.stage === 'stopped')
        ? withProgress
        : undefined;
    });
    for (const card of statusCards) expect(card.view.buttons ?? []).toEqual([]);
  });

  it('gives one session and one build for the same message sent three times at once', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const results = await Promise.all(
      [1, 2, 3].map(() => client.send('a guestbook for our wedding', 'same-key-123')),
    );
    const ids = new Set(results.map((r) => r.spawn?.sessionId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.spawn?.duplicate === false)).toHaveLength(1);
    const sessionId = [...ids][0]!;
    expect(await t.app.repos.builds.listForSession(sessionId)).toHaveLength(1);
    await liveCard(client, sessionId);
    expect((await client.history()).filter((m) => m.role === 'user')).toHaveLength(1);
    await client.act('stop', sessionId);
  });

  it('refuses a stop from someone else', async () => {
    const owner = new WebChatClient(t.url);
    await owner.open();
    const sent = await owner.send('a landing page for a bakery');
    const sessionId = sent.spawn!.sessionId;
    await liveCard(owner, sessionId);
    const stranger = new WebChatClient(t.url);
    await stranger.open();
    const attempt = await stranger.act('stop', sessionId);
    expect(attempt.replies?.[0]?.view.text).toBe('Only the person who asked for this app can do that.');
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('live');
    expect((await stranger.act('extend', sessionId)).replies?.[0]?.view.tone).toBe('error');

    // The owner extends it: 30 more minutes, said in the reply and on the card.
    const before = (await t.app.repos.sessions.get(sessionId))!.expiresAt!.getTime();
    const extended = await owner.act('extend', sessionId);
    expect(extended.replies?.[0]?.view.title).toContain('extended');
    const after = (await t.app.repos.sessions.get(sessionId))!.expiresAt!.getTime();
    expect(after - before).toBe(30 * 60_000);
    await until('card shows the new time', async () =>
      (await owner.cards(sessionId)).find((c) => c.view.expiresAt === new Date(after).toISOString()),
    );
    const status = await owner.send('/status');
    expect(status.replies[0]?.view).toMatchObject({
      title: expect.stringContaining('Bakery'),
      tone: 'success',
    });
    expect(status.replies[0]?.view.fields).toContainEqual({ label: 'Time left', value: '1 h 30 min' });
    await owner.act('stop', sessionId);
  });

  it('takes help, status, list, extend and stop typed alone as commands, not as changes to the app', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const sent = await client.send('a notes app for my book club');
    const sessionId = sent.spawn!.sessionId;
    await liveCard(client, sessionId);

    const help = await client.send('help');
    expect(help.spawn).toBeUndefined();
    expect(help.replies[0]?.view.text).toContain('/spawn <what to build>');
    const status = await client.send('status');
    expect(status.spawn).toBeUndefined();
    expect(status.replies[0]?.view.fields).toContainEqual({ label: 'Time left', value: expect.any(String) });
    const list = await client.send('List');
    expect(list.spawn).toBeUndefined();
    expect(list.replies[0]?.view.text).toContain(sessionId);
    const before = (await t.app.repos.sessions.get(sessionId))!.expiresAt!.getTime();
    const extend = await client.send('extend');
    expect(extend.spawn).toBeUndefined();
    expect(extend.replies[0]?.view.title).toContain('extended');
    expect((await t.app.repos.sessions.get(sessionId))!.expiresAt!.getTime()).toBe(before + 30 * 60_000);
    const stop = await client.send('stop');
    expect(stop.spawn).toBeUndefined();
    await until('stopped card', async () =>
      (await client.cards(sessionId)).find((c) => c.view.title.endsWith('stopped')),
    );
    expect((await t.app.repos.sessions.get(sessionId))?.status).toBe('stopped');
    // Still the one build the first message made: no word became change 2.
    expect(await t.app.repos.builds.listForSession(sessionId)).toHaveLength(1);
  });

  it('tells a person at the live-app limit what to do, and starts nothing', async () => {
    const client = new WebChatClient(t.url);
    await client.open();
    const a = await client.send('/spawn a blog about knitting');
    const b = await client.send('/spawn a dashboard of my running times');
    await liveCard(client, a.spawn!.sessionId);
    await liveCard(client, b.spawn!.sessionId);
    const c = await client.send('/spawn a guestbook');
    expect(c.spawn).toBeUndefined();
    expect(c.replies[0]?.view).toMatchObject({ tone: 'error', title: 'Limit reached' });
    expect(c.replies[0]?.view.text).toContain('Stop one with /stop first');
    const list = await client.send('/list');
    expect(list.replies[0]?.view.text).toContain(a.spawn!.sessionId);
    await client.act('stop', a.spawn!.sessionId);
    await client.act('stop', b.spawn!.sessionId);
  });
});

describe('web chat: bad input gets a clear answer and changes nothing', () => {
  let client: WebChatClient;
  beforeAll(async () => {
    client = new WebChatClient(t.url);
    await client.open();
  });

  async function sessionsOf(): Promise<number> {
    const res = await client.raw('/api/web/sessions');
    return ((await res.json()) as { sessions: unknown[] }).sessions.length;
  }

  it.each([
    ['an empty prompt', '/spawn', 'Tell me what to build.'],
    ['a prompt over the limit', `/spawn ${'x'.repeat(600)}`, 'the limit is 500'],
    ['an unknown command', '/deploy now', 'I do not know /deploy'],
    ['a stop of an app that does not exist', '/stop zzzzzzzz', 'I cannot find an app with id zzzzzzzz'],
  ])('%s', async (_what, text, reply) => {
    const before = await sessionsOf();
    const r = await client.send(text);
    expect(r.status).toBe(200);
    expect(r.spawn).toBeUndefined();
    expect(r.replies[0]?.view.text).toContain(reply);
    expect(await sessionsOf()).toBe(before);
  });

  it.each([
    ['a NUL character', 'a todo list\u0000 for my gym'],
    ['half of an emoji (a lone surrogate)', 'a todo list for my gym \ud83d'],
    ['a lone low surrogate in a change request', '/spawn a guestbook \udc00 with hearts'],
  ])('a prompt with %s: a clear answer, nothing stored that Postgres refuses', async (_what, text) => {
    const before = await sessionsOf();
    const res = await client.raw('/api/web/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, clientId: `bad${Math.random().toString(36).slice(2, 10)}` }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { replies: WebMessage[]; spawn?: unknown };
    expect(body.spawn).toBeUndefined();
    expect(body.replies[0]?.view).toMatchObject({
      tone: 'error',
      text: expect.stringContaining('contains a character I cannot keep'),
    });
    expect(await sessionsOf()).toBe(before);
    // The person's message is in the history, with the character shown as U+FFFD.
    const history = await client.history();
    expect(history.some((m) => m.role === 'user' && m.view.text.includes('\ufffd'))).toBe(true);
  });

  it('answers /help with the commands and the local quota', async () => {
    const r = await client.send('/help');
    expect(r.replies[0]?.view.text).toContain('/spawn <what to build>');
    expect(r.replies[0]?.view.text).toContain('Billing is off on this server');
  });

  it.each([
    ['malformed JSON', '{"text": ', 'application/json', 400, 'ERR_BAD_REQUEST'],
    ['a missing clientId', '{"text":"hi"}', 'application/json', 400, 'ERR_BAD_REQUEST'],
    [
      'a hostile clientId',
      '{"text":"hi","clientId":"../../etc/passwd"}',
      'application/json',
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'an oversized body',
      JSON.stringify({ text: 'x'.repeat(100_000), clientId: 'abcdefgh' }),
      'application/json',
      413,
      'ERR_BODY_TOO_LARGE',
    ],
    [
      'a form post (cross-site)',
      'text=hi&clientId=abcdefgh',
      'application/x-www-form-urlencoded',
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    ],
  ])('%s', async (_what, body, type, status, code) => {
    const before = await sessionsOf();
    const res = await client.raw('/api/web/messages', {
      method: 'POST',
      body,
      headers: { 'content-type': type },
    });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    expect(await sessionsOf()).toBe(before);
  });

  it('refuses requests without the chat cookie', async () => {
    const res = await fetch(`${t.url}/api/web/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'spawnai_uid=forged.signature' },
      body: JSON.stringify({ text: 'a todo app', clientId: 'abcdefgh' }),
    });
    expect(res.status).toBe(401);
  });

  it('answers health and readiness', async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    expect(await (await fetch(`${t.url}/ready`)).json()).toMatchObject({ status: 'ok' });
  });
});
