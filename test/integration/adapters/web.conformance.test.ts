import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import type { ReplyView } from '../../../src/core/view.js';
import {
  type Answer,
  type Attempt,
  adapterConformance,
  CONFORMANCE_ENV,
  type Seen,
} from '../../contract/adapter-conformance.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { post } from './post.js';

/** A person with the chat page open: their cookie and what the page was sent. */
interface Person {
  readonly uid: string;
  readonly cookie: string;
  /** Every version of every message the page received over its event stream, by message id. */
  readonly versions: Map<string, string[]>;
  /**
   * Replies meant for this person only, which come back in the answer to their request, by the
   * message's clientId: a page that sends a message again shows the answer it got then.
   */
  readonly privateReplies: Map<string, Seen[]>;
  readonly stream: AbortController;
}

interface WireMessage {
  readonly id: string;
  readonly role: 'user' | 'bot';
  readonly view: ReplyView;
}

let t: TestApp;
const people: Person[] = [];

/** What the page shows of a card: title, text, fields and footer. */
function shown(view: ReplyView): string {
  return [view.title, view.text, ...(view.fields ?? []).map((f) => `${f.label}: ${f.value}`), view.footer]
    .filter((x): x is string => typeof x === 'string' && x !== '')
    .join('\n');
}

/** Keeps what the page's event stream (`GET /api/web/events`) delivers, as the browser would. */
async function listen(person: Omit<Person, 'stream'>, stream: AbortController): Promise<void> {
  const res = await fetch(`${t.url}/api/web/events`, {
    headers: { cookie: person.cookie },
    signal: stream.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          if (/^event: ready$/m.test(event)) ready();
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (!/^event: message$/m.test(event) || !data) continue;
          const { message } = JSON.parse(data) as { message: WireMessage };
          if (message.role !== 'bot') continue;
          const list = person.versions.get(message.id) ?? [];
          list.push(shown(message.view));
          person.versions.set(message.id, list);
        }
      }
    } catch {
      // The stream was closed at the end of the test.
    }
  })();
  await isReady;
}

function headers(cookie: string | undefined, type = 'application/json'): Record<string, string> {
  return { 'content-type': type, ...(cookie ? { cookie } : {}) };
}

/** The cookie's value signed as @fastify/cookie signs it, with another secret. */
function signedWith(secret: string, value: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;
}

/** Sends as the person's page, or with another cookie (`null`: none). */
async function send(p: Person, body: string, cookie: string | null = p.cookie): Promise<Answer> {
  const answer = await post(`${t.url}/api/web/messages`, headers(cookie ?? undefined), body);
  if (answer.status < 300 && cookie === p.cookie) {
    const { replies = [] } = JSON.parse(answer.text) as { replies?: WireMessage[] };
    const { clientId } = JSON.parse(body) as { clientId: string };
    p.privateReplies.set(
      clientId,
      replies
        .filter((r) => r.id.startsWith('tmp-'))
        .map((r) => ({ id: r.id, text: shown(r.view), before: [] })),
    );
  }
  return answer;
}

adapterConformance<Person>({
  platform: 'web',
  async start() {
    t = await startTestApp({ FREE_LIVE_SESSIONS: '50', OFFLINE_BUILD_STEP_MS: '100', ...CONFORMANCE_ENV });
    return t;
  },
  async stop() {
    for (const p of people) p.stream.abort();
    await t?.stop();
  },
  async person() {
    const res = await fetch(`${t.url}/api/web/me`);
    const { userId } = (await res.json()) as { userId: string };
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const stream = new AbortController();
    const p: Person = { uid: userId, cookie, versions: new Map(), privateReplies: new Map(), stream };
    await listen(p, stream);
    people.push(p);
    return p;
  },
  identity: (p) => ({ teamId: '', userId: p.uid }),
  message(p, words) {
    // The page sends one clientId per message and the same one when it sends it again.
    const body = JSON.stringify({
      text: `/spawn ${words}`,
      clientId: `c${Math.random().toString(36).slice(2, 14)}`,
    });
    const [name] = p.cookie.split('=');
    const refused = (what: string, cookie: string | null): Attempt => ({
      what,
      status: 401,
      send: () => send(p, body, cookie),
    });
    return {
      send: () => send(p, body),
      forgeries: () => [
        refused('no session cookie', null),
        refused("the person's id without a signature", `${name}=${p.uid}`),
        refused(
          "the person's id signed with another secret",
          `${name}=${encodeURIComponent(signedWith('guessed-secret', p.uid))}`,
        ),
        refused(
          'a signature changed by one character',
          `${p.cookie.slice(0, -1)}${p.cookie.endsWith('A') ? 'B' : 'A'}`,
        ),
      ],
    };
  },
  raw: (p, words) => ({
    url: `${t.url}/api/web/messages`,
    headers: headers(p.cookie),
    body: JSON.stringify({
      text: `/spawn ${words}`,
      clientId: `c${Math.random().toString(36).slice(2, 14)}`,
    }),
  }),
  overloaded: {
    comesBack: 'redelivery',
    // Our page sends the same message (the same clientId) again after the Retry-After it was
    // given, a few times, saying so (adapters/web/public/app.js; test/e2e/web-chat.e2e.test.ts).
    why: 'the page sends the same message again after Retry-After',
  },
  expectAccepted(a) {
    // Our own page: 202 when a build was queued, 200 for every other answer, always JSON.
    expect([200, 202]).toContain(a.status);
    expect(JSON.parse(a.text)).toHaveProperty('message');
  },
  // The browser's session cookie carries no time: a repeat is caught by the message's clientId.
  timestamped: false,
  malformed(p) {
    const clientId = 'cmalformed01';
    const at = (what: string, status: number, body: string, type = 'application/json'): Attempt => ({
      what,
      status,
      send: () => post(`${t.url}/api/web/messages`, headers(p.cookie, type), body),
    });
    return [
      // A cross-site form cannot send JSON without a preflight, which is never allowed.
      at('a form post', 415, `text=a+wiki&clientId=${clientId}`, 'application/x-www-form-urlencoded'),
      at('text/plain', 415, JSON.stringify({ text: '/spawn a wiki', clientId }), 'text/plain'),
      at('not JSON', 400, '{"text": '),
      at('a JSON array', 400, '[]'),
      at('text that is a number', 400, JSON.stringify({ text: 42, clientId })),
      at('no clientId', 400, JSON.stringify({ text: '/spawn a wiki' })),
      at('a clientId with a slash', 400, JSON.stringify({ text: '/spawn a wiki', clientId: 'a/b/c/d/e/f' })),
      at(
        'a raw NUL byte after the JSON',
        400,
        `${JSON.stringify({ text: '/spawn a wiki', clientId })}\u0000`,
      ),
      at('a raw NUL byte inside a string', 400, `{"text": "/spawn a\u0000wiki", "clientId": "${clientId}"}`),
    ];
  },
  oversized: (p) => ({
    what: 'a 100 kB message',
    status: 413,
    send: () =>
      post(
        `${t.url}/api/web/messages`,
        headers(p.cookie),
        JSON.stringify({ text: 'x'.repeat(100_000), clientId: 'cbig00001' }),
      ),
  }),
  async seen(p) {
    const res = await fetch(`${t.url}/api/web/messages`, { headers: { cookie: p.cookie } });
    const { messages } = (await res.json()) as { messages: WireMessage[] };
    const history = messages
      .filter((m) => m.role === 'bot')
      .map((m) => ({ id: m.id, text: shown(m.view), before: (p.versions.get(m.id) ?? []).slice(0, -1) }));
    // Messages the page was sent that the history does not keep (for this person only).
    const streamed = [...p.versions]
      .filter(([id]) => !history.some((m) => m.id === id))
      .map(([id, versions]) => ({ id, text: versions.at(-1)!, before: versions.slice(0, -1) }));
    return [...history, ...streamed, ...[...p.privateReplies.values()].flat()];
  },
  conversation: (p) => ({ platform: 'web', teamId: '', channelId: p.uid }),
  // The page is ours and lays out any length: nothing may be cut.
  limit: undefined,
  // No platform API stands between the worker and the page: no 429 to answer.
  rateLimit: undefined,
});
