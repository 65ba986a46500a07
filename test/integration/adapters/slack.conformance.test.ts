import { expect } from 'vitest';
import {
  type Answer,
  type Attempt,
  adapterConformance,
  CONFORMANCE_ENV,
  type Delivery,
  type Seen,
} from '../../contract/adapter-conformance.js';
import { blockProblem } from '../../fakes/slack/blocks.js';
import {
  appMention,
  blocksText,
  type SendOptions,
  type SignedResponse,
  slashCommand,
} from '../../fakes/slack/index.js';
import { ACME, type SlackHarness, shown, startSlackApp } from '../slack/harness.js';
import { post } from './post.js';

interface Person {
  readonly user: string;
  readonly channel: string;
}

/** Slack refuses a message whose text is longer ("msg_too_long", https://docs.slack.dev/reference/methods/chat.postMessage). */
const SLACK_TEXT_MAX = 40_000;

let h: SlackHarness;
let ids = 0;
/** The messages slash commands were answered with, by the person who typed them. */
const acks = new Map<string, Seen[]>();

const answer = (r: SignedResponse): Answer => ({
  status: r.status,
  text: r.text,
  headers: r.headers,
  ms: r.ms,
});

/** The same bytes sent the ways a forger or a replayer could send them. */
function signedDelivery(body: string, contentType: string, retries: boolean): Delivery {
  const send = (options: SendOptions = {}) => h.fake.signer.send(body, contentType, options).then(answer);
  const now = () => Math.floor(Date.now() / 1000);
  const refused = (what: string, options: SendOptions): Attempt => ({
    what,
    status: 401,
    send: () => send(options),
  });
  return {
    // Slack retries an event with X-Slack-Retry-Num and X-Slack-Retry-Reason
    // (https://docs.slack.dev/apis/events-api/#retries); a command is never retried by Slack,
    // but a duplicated request must still be one.
    send: (attempt = 1) =>
      send(retries && attempt > 1 ? { retryNum: Math.min(attempt - 1, 3), retryReason: 'http_timeout' } : {}),
    forgeries: () => [
      refused('signed with another secret', { secret: 'not-the-signing-secret' }),
      refused('a made-up signature', { signature: `v0=${'0'.repeat(64)}` }),
      refused('no signature', { signature: '' }),
      refused('another signature version', { signature: `v1=${'a'.repeat(64)}` }),
      {
        what: 'a body changed after signing',
        status: 401,
        send: async () => {
          const headers = h.fake.signer.headers(body, contentType);
          return post(h.fake.signer.targetUrl, headers, `${body}&x=1`);
        },
      },
    ],
    // A timestamp more than five minutes from now marks a possible replay: refuse it
    // (https://docs.slack.dev/authentication/verifying-requests-from-slack).
    replays: () => [
      refused('signed six minutes ago', { timestamp: now() - 6 * 60 }),
      refused('signed an hour ago', { timestamp: now() - 3600 }),
      refused('signed six minutes ahead', { timestamp: now() + 6 * 60 }),
    ],
  };
}

const json = (v: unknown) => JSON.stringify(v);
const FORM = 'application/x-www-form-urlencoded';

adapterConformance<Person>({
  platform: 'slack',
  async start() {
    h = await startSlackApp({ FREE_LIVE_SESSIONS: '50', OFFLINE_BUILD_STEP_MS: '100', ...CONFORMANCE_ENV });
    return h.t;
  },
  stop: () => h.stop(),
  async person() {
    ids += 1;
    return { user: `U0CONF${ids}`, channel: `C0CONF${ids}` };
  },
  identity: (p) => ({ teamId: ACME.teamId, userId: p.user }),
  message(p, words) {
    const fields = slashCommand(h.fake, {
      teamId: ACME.teamId,
      user: p.user,
      channel: p.channel,
      text: words,
    });
    const delivery = signedDelivery(new URLSearchParams(fields).toString(), FORM, false);
    return {
      ...delivery,
      // Slack shows the message a slash command is answered with to the person who typed it
      // (ephemeral unless response_type is in_channel;
      // https://docs.slack.dev/tools/java-slack-sdk/guides/slash-commands).
      async send(attempt) {
        const a = await delivery.send(attempt);
        const type = a.headers.get('content-type') ?? '';
        if (a.status === 200 && type.startsWith('application/json')) {
          const { text } = JSON.parse(a.text) as { text?: unknown };
          if (typeof text === 'string') {
            const list = acks.get(p.user) ?? [];
            list.push({ id: `ack-${list.length}`, text, before: [] });
            acks.set(p.user, list);
          }
        }
        return a;
      },
    };
  },
  raw(p, words) {
    const body = new URLSearchParams(
      slashCommand(h.fake, { teamId: ACME.teamId, user: p.user, channel: p.channel, text: words }),
    ).toString();
    return { url: h.fake.signer.targetUrl, headers: h.fake.signer.headers(body, FORM), body };
  },
  overloaded: {
    comesBack: 'redelivery',
    // Events answered with a 5xx are sent again, with X-Slack-Retry-Num
    // (https://docs.slack.dev/apis/events-api/#retries); slash commands are not, so the case
    // uses the driver's redelivery (an app mention).
    why: 'Slack retries an event that got a 5xx',
    // A slash command has to be answered within 3 s or its person sees an error, and Slack
    // never sends it again (https://docs.slack.dev/interactivity/implementing-slash-commands).
    toldWhenFull: 'Slack never sends a slash command again; its ephemeral answer tells the person',
  },
  redelivery(p, words) {
    const { envelope } = appMention(h.fake, {
      teamId: ACME.teamId,
      user: p.user,
      channel: p.channel,
      text: words,
    });
    return signedDelivery(JSON.stringify(envelope), 'application/json', true);
  },
  expectAccepted(a) {
    // Slack wants 200 OK within 3 seconds, else the person sees a timeout error; an empty body
    // is a bare acknowledgement, JSON a message (https://docs.slack.dev/tools/java-slack-sdk/guides/slash-commands).
    expect(a.status).toBe(200);
    expect(a.ms).toBeLessThan(3000);
    if (a.text !== '' && (a.headers.get('content-type') ?? '').startsWith('application/json')) {
      expect(JSON.parse(a.text)).toBeTypeOf('object');
    }
  },
  timestamped: true,
  malformed(p) {
    const fields = slashCommand(h.fake, {
      teamId: ACME.teamId,
      user: p.user,
      channel: p.channel,
      text: 'a wiki',
    });
    const { envelope } = appMention(h.fake, {
      teamId: ACME.teamId,
      user: p.user,
      channel: p.channel,
      text: 'a wiki',
    });
    const { trigger_id: _t, ...noTrigger } = fields;
    const signed = (what: string, status: number, body: string, type: string): Attempt => ({
      what,
      status,
      send: () => h.fake.signer.send(body, type).then(answer),
    });
    return [
      // Bolt compares the form content type exactly; Slack sends no charset.
      signed(
        'a command with a charset',
        400,
        new URLSearchParams(fields).toString(),
        `${FORM}; charset=utf-8`,
      ),
      signed('a command as text/plain', 400, new URLSearchParams(fields).toString(), 'text/plain'),
      signed('an event sent as a form', 400, json(envelope), FORM),
      signed('half a JSON event', 400, '{"type": "event_callback", ', 'application/json'),
      signed('a JSON array', 400, '[1, 2]', 'application/json'),
      signed(
        'an event without event_id',
        400,
        json({ ...envelope, event_id: undefined }),
        'application/json',
      ),
      signed('an event that is a string', 400, json({ ...envelope, event: 'nope' }), 'application/json'),
      signed('a command without trigger_id', 400, new URLSearchParams(noTrigger).toString(), FORM),
      signed(
        'a command with a javascript: response_url',
        400,
        new URLSearchParams({ ...fields, response_url: 'javascript:alert(1)' }).toString(),
        FORM,
      ),
      signed('an interaction payload that is not JSON', 400, 'payload=%7Bnot-json', FORM),
      signed('a form that is no command', 400, 'hello=world', FORM),
      signed('a raw NUL byte after the JSON', 400, `${json(envelope)}\u0000`, 'application/json'),
      signed(
        'a raw NUL byte inside a JSON string',
        400,
        json(envelope).replace('a wiki', 'a\u0000wiki'),
        'application/json',
      ),
    ];
  },
  oversized: () => ({
    what: 'a 1.1 MB event',
    status: 413,
    send: () =>
      h.fake.signer
        .send(json({ type: 'event_callback', pad: 'x'.repeat(1_100_000) }), 'application/json')
        .then(answer),
  }),
  async seen(p) {
    const { fake } = h;
    const posted = fake.messages
      .filter((m) => m.channel === p.channel)
      .map((m) => ({ id: m.ts, text: shown(m), before: m.edits.slice(0, -1).map(shown) }));
    const ephemeral = fake
      .ephemeralsTo(p.user)
      .filter((e) => e.channel === p.channel)
      .map((e, i) => ({ id: `ephemeral-${i}`, text: shown(e), before: [] }));
    const responses = fake
      .responsesTo(p.user)
      .filter((r) => r.context.channel === p.channel)
      .map((r) => ({
        id: `response-${r.id}`,
        text: `${String(r.body.text ?? '')}\n${blocksText((r.body.blocks as Record<string, unknown>[]) ?? [])}`,
        before: [],
      }));
    return [...posted, ...ephemeral, ...responses, ...(acks.get(p.user) ?? [])];
  },
  conversation: (p) => ({ platform: 'slack', teamId: ACME.teamId, channelId: p.channel }),
  limit: {
    describe: 'Block Kit limits and 40,000 characters of text',
    check(m) {
      const message = h.fake.messages.find((x) => x.ts === m.id);
      expect(message).toBeDefined();
      for (const edit of message!.edits) {
        // Every version passed Slack's Block Kit rules (header 150, section 3000, 50 blocks, ...).
        expect(blockProblem(edit.blocks)).toBeUndefined();
        expect(edit.text.length).toBeLessThanOrEqual(SLACK_TEXT_MAX);
      }
    },
  },
  rateLimit: {
    refuseNext(_p, retryAfterS) {
      h.fake.rateLimitNext('chat.postMessage', retryAfterS);
      h.fake.rateLimitNext('chat.update', retryAfterS);
    },
    refused(p) {
      const calls = h.fake.calls.filter((c) => c.channel === p.channel);
      return calls
        .filter((c) => c.status === 429)
        .map((c) => ({
          limitedAt: c.at,
          retryAfterMs: (c.retryAfterS ?? 0) * 1000,
          retriedAt: calls.find((r) => r.method === c.method && r.status === 200 && r.at > c.at)?.at,
        }));
    },
  },
});
