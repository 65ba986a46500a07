import { expect } from 'vitest';
import {
  type Attempt,
  adapterConformance,
  CONFORMANCE_ENV,
  type Delivery,
} from '../../contract/adapter-conformance.js';
import {
  type DiscordWorld,
  type Embed,
  type FakeChannel,
  type FakeUser,
  startDiscordWorld,
} from '../../fakes/discord/harness.js';
import type { SendOptions, SendResult } from '../../fakes/discord/interactions.js';
import { MESSAGE_FLAGS, type MessageState } from '../../fakes/discord/state.js';
import { post } from './post.js';

interface Person {
  readonly user: FakeUser;
  readonly dm: FakeChannel;
}

/** Discord's message limits (https://discord.com/developers/docs/resources/message#create-message). */
const CONTENT_MAX = 2000;
/** Title, description, field names and values, footer and author of all embeds of one message together (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
const EMBEDS_TOTAL_MAX = 6000;

let w: DiscordWorld;
let ids = 0;
const forced: { pattern: RegExp; retryAfterS: number }[] = [];

const answer = (r: SendResult) => ({
  status: r.status,
  text: r.text,
  headers: r.headers,
  ms: r.elapsedMs,
});

function embedText(e: Embed): string {
  return [e.title, e.description, ...(e.fields ?? []).map((f) => `${f.name}: ${f.value}`), e.footer?.text]
    .filter((x): x is string => typeof x === 'string' && x !== '')
    .join('\n');
}

/** What people see of one state of a message; "thinking…" shows no text of ours. */
function visible(s: MessageState): string {
  if (s.flags & MESSAGE_FLAGS.loading) return '';
  return [s.content, ...s.embeds.map(embedText)].filter((x) => x !== '').join('\n');
}

function embedChars(e: Embed): number {
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0) +
    (e.footer?.text.length ?? 0)
  );
}

function interaction(p: Person, words: string): Delivery {
  const i = w.fake.signer.command(p.user, p.dm.id, words);
  const body = JSON.stringify(i.payload);
  const refused = (what: string, options: SendOptions): Attempt => ({
    what,
    status: 401,
    send: () => w.fake.signer.post(i.payload, options).then(answer),
  });
  const now = () => Math.floor(Date.now() / 1000);
  return {
    // The first delivery goes through the fake's rules for acknowledgements; Discord never
    // redelivers an interaction, but a duplicated request must still be one.
    send: (attempt = 1) =>
      (attempt === 1 ? w.fake.signer.deliver(i) : w.fake.signer.post(i.payload)).then(answer),
    // An endpoint must answer a request whose signature does not verify with 401, and Discord
    // sends such requests on purpose to check
    // (https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers).
    forgeries: () => [
      refused('signed with another key', { badSignature: true }),
      refused('no signature', { omit: 'signature' }),
      refused('no timestamp', { omit: 'timestamp' }),
      refused('no signature headers', { omit: 'both' }),
      {
        what: 'a body changed after signing',
        status: 401,
        send: () =>
          post(
            w.fake.signer.target,
            w.fake.signer.headersFor(body),
            body.replace(words, `${words}, and send me the admin password`),
          ),
      },
    ],
    replays: () => [
      refused('signed six minutes ago', { timestamp: now() - 6 * 60 }),
      refused('signed six minutes ahead', { timestamp: now() + 6 * 60 }),
    ],
  };
}

adapterConformance<Person>({
  platform: 'discord',
  async start() {
    w = await startDiscordWorld({
      env: { FREE_LIVE_SESSIONS: '50', OFFLINE_BUILD_STEP_MS: '100', ...CONFORMANCE_ENV },
    });
    return w.t;
  },
  stop: () => w.stop(),
  async person(name) {
    ids += 1;
    const user = w.fake.user(`${name}${ids}`);
    return { user, dm: w.fake.dmChannel(user) };
  },
  // Discord accounts are global: identities carry no guild.
  identity: (p) => ({ teamId: '', userId: p.user.id }),
  message: interaction,
  raw(p, words) {
    const body = JSON.stringify(w.fake.signer.command(p.user, p.dm.id, words).payload);
    return { url: w.fake.signer.target, headers: w.fake.signer.headersFor(body), body };
  },
  overloaded: {
    comesBack: 'sent-again',
    // An interaction must be answered within 3 s, after which its token is invalid, and Discord
    // never sends it again: the person sees it failed and runs the command again, a new
    // interaction (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-callback).
    why: 'Discord never delivers an interaction again; the person runs the command again',
    // An answer in the response body (type 4, CHANNEL_MESSAGE_WITH_SOURCE, ephemeral) is the
    // interaction's reply (https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction).
    toldWhenFull: 'Discord never delivers an interaction again; its private reply tells the person',
  },
  expectAccepted(a) {
    // Either the answer is in the response body (200 with a callback type), or it went to the
    // callback endpoint and the request gets 202 without a body
    // (https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction).
    expect([200, 202]).toContain(a.status);
    // The initial response must come within 3 s, or the interaction fails.
    expect(a.ms).toBeLessThan(3000);
    if (a.status === 202) expect(a.text).toBe('');
    else expect([4, 5, 6, 7]).toContain((JSON.parse(a.text) as { type: number }).type);
  },
  timestamped: true,
  malformed(p) {
    const i = w.fake.signer.command(p.user, p.dm.id, 'a wiki for the malformed test');
    const body = JSON.stringify(i.payload);
    const signed = (what: string, status: number, rawBody: string, contentType?: string): Attempt => ({
      what,
      status,
      send: () =>
        w.fake.signer.post(undefined, { rawBody, ...(contentType ? { contentType } : {}) }).then(answer),
    });
    return [
      signed('not JSON', 400, '{"type": 2,'),
      signed('not an interaction', 400, '{"hello":"world"}'),
      signed('an unknown interaction type', 400, JSON.stringify({ ...i.payload, type: 4 })),
      signed('another application', 400, JSON.stringify({ ...i.payload, application_id: '123456789' })),
      signed('a raw NUL byte after the JSON', 400, `${body}\u0000`),
      signed('a raw NUL byte inside a string', 400, body.replace('a wiki', 'a\u0000wiki')),
      signed('as text/plain', 415, body, 'text/plain'),
    ];
  },
  oversized: () => ({
    what: 'a 300 kB body',
    status: 413,
    send: () => w.fake.signer.post(undefined, { rawBody: 'x'.repeat(300 * 1024) }).then(answer),
  }),
  async seen(p) {
    return w.fake
      .messagesIn(p.dm.id)
      .filter((m) => m.author.id === w.fake.botUser.id && !m.deleted)
      .map((m) => ({
        id: m.id,
        text: visible(m.history.at(-1)!),
        before: m.history.slice(0, -1).map(visible),
      }));
  },
  conversation: (p) => ({ platform: 'discord', teamId: '', channelId: p.dm.id }),
  limit: {
    describe: '2000 characters of content, 6000 in embeds',
    check(m) {
      const message = w.fake.messages.get(m.id);
      expect(message).toBeDefined();
      for (const s of message!.history) {
        expect(s.content.length).toBeLessThanOrEqual(CONTENT_MAX);
        expect(s.embeds.reduce((n, e) => n + embedChars(e), 0)).toBeLessThanOrEqual(EMBEDS_TOTAL_MAX);
      }
    },
  },
  rateLimit: {
    refuseNext(p, retryAfterS) {
      // A 429 carries Retry-After in seconds (https://discord.com/developers/docs/topics/rate-limits).
      for (const pattern of [
        /^PATCH \/webhooks\//,
        /^POST \/webhooks\/\d+\/[\w.-]+$/,
        new RegExp(`^POST /channels/${p.dm.id}/messages$`),
        new RegExp(`^PATCH /channels/${p.dm.id}/messages/`),
      ]) {
        w.fake.buckets.force(pattern, retryAfterS, 1);
        forced.push({ pattern, retryAfterS });
      }
    },
    refused(p) {
      const tokens = [...w.fake.interactions.values()]
        .filter((i) => i.userId === p.user.id)
        .map((i) => i.token);
      const mine = w.fake.requests.filter(
        (r) => r.route.includes(p.dm.id) || tokens.some((t) => r.route.includes(t)),
      );
      return mine
        .filter((r) => r.status === 429)
        .map((r) => ({
          limitedAt: r.at,
          retryAfterMs: (forced.find((f) => f.pattern.test(r.route))?.retryAfterS ?? 0) * 1000,
          retriedAt: mine.find((x) => x.route === r.route && x.status < 300 && x.at > r.at)?.at,
        }));
    },
  },
});
