import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSY_NOTE, TOO_BUSY_NOTE } from '../../bots/busy.js';
import type { InboundJobData } from '../../src/core/inbound-handler.js';
import type { Messenger } from '../../src/core/messenger.js';
import type { ConversationRef, Platform } from '../../src/core/platform.js';
import { SESSION_STATUSES } from '../../src/core/status.js';
import type { ReplyView } from '../../src/core/view.js';
import { type TestApp, until } from '../helpers/app.js';
import { type Answer, hold, type RawRequest } from '../helpers/held-request.js';

export type { Answer, RawRequest };

/**
 * One conformance suite every chat platform adapter must pass (Slack, Discord, Telegram, web
 * chat), run through the real app against the platform's wire fake. It asserts only what stays
 * true however the routes do their work (inline or on a queue): the HTTP answers the platform
 * requires, what the person sees in the platform, and the rows a request leaves behind.
 */

/** One request the platform would send; sending it again is a redelivery of the same one. */
export interface Delivery {
  /** `attempt` 2, 3, ... are the platform's own redeliveries (Slack adds its retry headers). */
  send(attempt?: number): Promise<Answer>;
  /** The same bytes forged: another secret, signature, token or session; nothing to trust. All 401. */
  forgeries(): Attempt[];
  /** The same bytes validly signed too long ago or too far ahead: a replay the timestamp catches. */
  replays?(): Attempt[];
}

/**
 * Settings every driver starts its app with, so the backpressure cases can reach the bounds:
 * the queue counts as deep past 3 waiting deliveries, and 4 requests in flight fill a process
 * (above the 3 at once that the redelivery case sends).
 */
export const CONFORMANCE_ENV = { INBOUND_BUSY_DEPTH: '3', INBOUND_MAX_IN_FLIGHT: '4' } as const;

/** A request that must be refused with `status`. */
export interface Attempt {
  readonly what: string;
  readonly status: number;
  send(): Promise<Answer>;
}

/** A message the bot showed the person: its id in the platform, visible text, and edits. */
export interface Seen {
  readonly id: string;
  readonly text: string;
  /** Texts it showed before, oldest first (empty when never edited). */
  readonly before: readonly string[];
}

/** The platform's answer to one refused call: when it said 429, for how long, and when the same call went through. */
export interface LimitedCall {
  readonly limitedAt: number;
  readonly retryAfterMs: number;
  readonly retriedAt: number | undefined;
}

export interface ConformanceDriver<P> {
  readonly platform: Platform;
  /** The real app wired to the platform's fake (web + worker in process). */
  start(): Promise<TestApp>;
  stop(): Promise<void>;
  /** A new person with a conversation of their own. */
  person(name: string): Promise<P>;
  /** How the database knows the person (identities' team and platform user id). */
  identity(p: P): { readonly teamId: string; readonly userId: string };
  /** `/spawn <words>` as the person types it on this platform, validly signed. */
  message(p: P, words: string): Delivery;
  /** The delivery the platform itself repeats (default: `message`). */
  redelivery?(p: P, words: string): Delivery;
  /** The request `message(p, words)` sends, for holding it in flight. */
  raw(p: P, words: string): RawRequest;
  /**
   * What becomes of a delivery refused with 503 + Retry-After because this process holds
   * INBOUND_MAX_IN_FLIGHT requests: the platform delivers the same one again (`redelivery`,
   * sent as `redelivery` or else `message` builds it), or it does not and the person sends it
   * again, a new delivery (`sent-again`); `why` cites the platform's documentation.
   */
  readonly overloaded: {
    readonly comesBack: 'redelivery' | 'sent-again';
    readonly why: string;
    /**
     * Set where `message` is a delivery the platform never sends again (a Slack slash command,
     * a Discord interaction): over the bound it is still verified, and answered in the
     * acknowledgement that it was not taken (TOO_BUSY_NOTE) instead of a bare 503. The reason,
     * citing the platform's documentation.
     */
    readonly toldWhenFull?: string;
  };
  /** Checks an accepted delivery's answer against what the platform requires. */
  expectAccepted(answer: Answer): void;
  /** Whether requests carry a signed timestamp (Slack, Discord), so a stale replay is refused. */
  readonly timestamped: boolean;
  /** Signed (or authenticated) bodies that are not what the platform sends, from this person. */
  malformed(p: P): Attempt[];
  /** A body over the size limit, signed. */
  oversized(p: P): Attempt;
  /** Bot messages the person can see in their conversation, oldest first. */
  seen(p: P): Promise<Seen[]>;
  /** Where a messenger posts for this person. */
  conversation(p: P): ConversationRef;
  /** What the platform lets one message show; asserts a message is within it. */
  readonly limit: { readonly describe: string; check(m: Seen): void } | undefined;
  /** The platform's 429: the next post and the next edit are refused with this Retry-After. */
  readonly rateLimit:
    | {
        refuseNext(p: P, retryAfterS: number): void;
        /** The 429s sent for this person's conversation and when the same call then went through. */
        refused(p: P): LimitedCall[];
      }
    | undefined;
  /**
   * Cases this platform fails today because of a bug fixed elsewhere, with the bug: they run
   * as `it.fails`, so the day the bug is fixed the marker has to go.
   */
  readonly knownBugs?: Partial<Record<ConformanceCase, string>>;
}

export type ConformanceCase = 'nul-prompt';

/** How long "nothing appears" is watched after a later request's answer appeared. */
const SETTLE_MS = 500;
/** How long a build may take from request to result on a loaded two-core machine. */
const RESULT_TIMEOUT_MS = 60_000;
/** A case with a build in it: the result's deadline plus the barrier's. */
const BUILD_CASE_TIMEOUT_MS = RESULT_TIMEOUT_MS + 45_000;

const isResult = (m: Seen) => /is ready/.test(m.text);

/** A filler on the inbound queue: it only makes the queue deep, and is removed before any worker takes it. */
const FILLER: InboundJobData = {
  source: 'web',
  kind: 'conformance-filler',
  payload: null,
  correlationId: 'conformance-filler',
  receivedAt: 0,
};

/** A view far past every platform's limits: long title, body, footer, many fields and buttons. */
export function hugeView(marker: string): ReplyView {
  const words = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ');
  return {
    tone: 'info',
    title: `${marker} ${words(600, 'title')}`,
    text: `${marker} ${words(9000, 'body')}`,
    fields: Array.from({ length: 40 }, (_, i) => ({
      label: `field ${i} ${words(60, 'label')}`,
      value: words(400, 'value'),
    })),
    buttons: Array.from({ length: 30 }, (_, i) => ({
      kind: 'link' as const,
      label: `button ${i} ${words(40, 'label')}`,
      url: `https://example.com/${i}`,
    })),
    footer: words(900, 'footer'),
  };
}

export function adapterConformance<P>(driver: ConformanceDriver<P>): void {
  describe(`${driver.platform} adapter conformance`, () => {
    let t: TestApp;
    let people = 0;
    const fresh = (what: string) => driver.person(`${what}${++people}`);

    beforeAll(async () => {
      t = await driver.start();
    });
    afterAll(async () => {
      await driver.stop();
    });

    /** The rows a person's requests left: a user, their sessions and builds. */
    async function footprint(p: P) {
      const { teamId, userId } = driver.identity(p);
      const identity = await t.app.repos.users.findIdentity(driver.platform, teamId, userId);
      if (!identity) return { user: false, sessions: 0, builds: 0 };
      const sessions = await t.app.repos.sessions.listByUser(identity.userId, { limit: 100 });
      let builds = 0;
      for (const s of sessions) builds += (await t.app.repos.builds.listForSession(s.id)).length;
      return { user: true, sessions: sessions.length, builds };
    }

    const sessionCount = async () =>
      (await t.app.repos.sessions.listByStatus(SESSION_STATUSES, 10_000)).length;

    /**
     * Waits until a later, valid request from someone else has been answered, then a little
     * more: whatever an earlier request was going to cause has had its turn by then.
     */
    async function barrier(): Promise<void> {
      const other = await fresh('barrier');
      driver.expectAccepted(await driver.message(other, 'help').send());
      await until(`${driver.platform}: the barrier's help answer`, async () =>
        (await driver.seen(other)).some((m) => m.text.trim() !== ''),
      );
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }

    async function result(p: P): Promise<Seen> {
      return until(
        `${driver.platform}: the "is ready" message`,
        async () => (await driver.seen(p)).find(isResult),
        RESULT_TIMEOUT_MS,
      );
    }

    function messengerOf(): Messenger {
      const adapter = t.app.adapters.find((a) => a.platform === driver.platform);
      if (!adapter) throw new Error(`${driver.platform} is not configured`);
      return adapter.messenger;
    }

    it(
      'refuses forged requests with 401 and changes nothing; the genuine one is then handled',
      async () => {
        const p = await fresh('forged');
        const delivery = driver.message(p, 'a guestbook for the forged test');
        const sessions = await sessionCount();
        const forgeries = delivery.forgeries();
        expect(forgeries.length).toBeGreaterThan(0);
        for (const attempt of forgeries) {
          const answer = await attempt.send();
          expect({ what: attempt.what, status: answer.status }).toEqual({ what: attempt.what, status: 401 });
        }
        await barrier();
        expect(await footprint(p)).toEqual({ user: false, sessions: 0, builds: 0 });
        expect(await driver.seen(p)).toEqual([]);
        expect(await sessionCount()).toBe(sessions);

        // Nothing was recorded (no dedupe mark either): the same delivery, genuinely sent, builds.
        driver.expectAccepted(await delivery.send());
        await result(p);
        expect(await footprint(p)).toMatchObject({ user: true, sessions: 1, builds: 1 });
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    it.skipIf(!driver.timestamped)(
      'refuses replays caught by their timestamp with 401, changing nothing; the fresh one is handled',
      async () => {
        const p = await fresh('replayed');
        const delivery = driver.message(p, 'a countdown for the replay test');
        const attempts = delivery.replays?.() ?? [];
        expect(attempts.length).toBeGreaterThan(0);
        const sessions = await sessionCount();
        for (const attempt of attempts) {
          const answer = await attempt.send();
          expect({ what: attempt.what, status: answer.status }).toEqual({
            what: attempt.what,
            status: attempt.status,
          });
        }
        await barrier();
        expect(await footprint(p)).toEqual({ user: false, sessions: 0, builds: 0 });
        expect(await driver.seen(p)).toEqual([]);
        expect(await sessionCount()).toBe(sessions);
        // Refused before anything was recorded: the same request, signed now, builds.
        driver.expectAccepted(await delivery.send());
        await result(p);
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    it('refuses malformed and oversized bodies (NUL bytes included) with 4xx, changing nothing', async () => {
      const p = await fresh('malformed');
      const sessions = await sessionCount();
      for (const attempt of [...driver.malformed(p), driver.oversized(p)]) {
        const answer = await attempt.send();
        expect({ what: attempt.what, status: answer.status }).toEqual({
          what: attempt.what,
          status: attempt.status,
        });
      }
      await barrier();
      expect(await footprint(p)).toEqual({ user: false, sessions: 0, builds: 0 });
      expect(await driver.seen(p)).toEqual([]);
      expect(await sessionCount()).toBe(sessions);
    });

    const nulBug = driver.knownBugs?.['nul-prompt'];
    (nulBug ? it.fails : it)(
      `answers a prompt holding NUL bytes clearly, never with a server error${nulBug ? ` (known bug: ${nulBug})` : ''}`,
      async () => {
        const p = await fresh('nul');
        const answer = await driver.message(p, 'a todo list\u0000 with\u0000 NUL bytes').send();
        // Refused as bad input, or accepted as the platform requires: never a 5xx.
        if (answer.status !== 400) driver.expectAccepted(answer);
        await barrier();
        const seen = await driver.seen(p);
        if (answer.status !== 400) expect(seen.some((m) => m.text.trim() !== '')).toBe(true);
        // A clear answer, not the catch-all for a failure.
        expect(seen.filter((m) => /Something went wrong/.test(m.text))).toEqual([]);
        const failed = await t.app.repos.sessions.listByStatus(['failed'], 10_000);
        const { teamId, userId } = driver.identity(p);
        const identity = await t.app.repos.users.findIdentity(driver.platform, teamId, userId);
        expect(failed.filter((s) => s.userId === identity?.userId)).toEqual([]);
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    it(
      'the same delivery twice (in turn and at once) is one build and one answer',
      async () => {
        const p = await fresh('twice');
        const make = driver.redelivery ?? driver.message;
        const delivery = make.call(driver, p, 'a recipe box for the redelivery test');
        driver.expectAccepted(await delivery.send(1));
        driver.expectAccepted(await delivery.send(2));
        const burst = await Promise.all([3, 4, 5].map((n) => delivery.send(n)));
        for (const a of burst) driver.expectAccepted(a);
        await result(p);
        await barrier();
        expect(await footprint(p)).toEqual({ user: true, sessions: 1, builds: 1 });
        const seen = await driver.seen(p);
        expect(seen.filter(isResult)).toHaveLength(1);
        // The progress went into one status message, edited in place.
        expect(seen.some((m) => m.before.length > 0)).toBe(true);
        // Nothing was said twice.
        const texts = seen.map((m) => m.text);
        expect(texts.filter((x, i) => texts.indexOf(x) !== i)).toEqual([]);
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    it(
      'the same delivery again after it was answered (a replay, or a late redelivery) is not handled again',
      async () => {
        // Telegram's secret and the web's cookie carry no time: a captured request stays valid,
        // and only the delivery's own id stops it being built twice, for as long as it could come back.
        const p = await fresh('late');
        const make = driver.redelivery ?? driver.message;
        const delivery = make.call(driver, p, 'a packing list for the late replay test');
        driver.expectAccepted(await delivery.send());
        await result(p);
        await barrier();
        const before = await driver.seen(p);
        const again = await delivery.send();
        // Acknowledged (so the platform stops sending it) or refused; never a server error.
        if (again.status >= 400) expect(again.status).toBeLessThan(500);
        else driver.expectAccepted(again);
        await barrier();
        expect(await footprint(p)).toEqual({ user: true, sessions: 1, builds: 1 });
        const after = await driver.seen(p);
        expect(after.filter(isResult)).toHaveLength(1);
        expect(after.map((m) => m.text)).toEqual(before.map((m) => m.text));
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    it('post then edit edits the same message', async () => {
      const p = await fresh('edit');
      const messenger = messengerOf();
      const before = (await driver.seen(p)).length;
      const ref = await messenger.post(driver.conversation(p), {
        tone: 'progress',
        title: 'Posting first',
        text: 'first version',
      });
      await messenger.update(ref, { tone: 'success', title: 'Edited after', text: 'second version' });
      const seen = await until(`${driver.platform}: the edited message`, async () => {
        const all = await driver.seen(p);
        const last = all.at(-1);
        return all.length > before &&
          last &&
          /second version/.test(last.text) &&
          last.before.some((x) => /first version/.test(x))
          ? all
          : undefined;
      });
      expect(seen).toHaveLength(before + 1);
      const edited = seen.at(-1)!;
      expect(edited.id).toBe(ref.messageId);
      expect(edited.text).not.toMatch(/first version/);
    });

    it(`renders a message longer than the platform allows within the limit (${driver.limit?.describe ?? 'no limit: shown whole'})`, async () => {
      const p = await fresh('long');
      const messenger = messengerOf();
      const ref = await messenger.post(driver.conversation(p), hugeView('POSTED'));
      await messenger.update(ref, hugeView('EDITED'));
      const shown = await until(`${driver.platform}: the long message, edited`, async () =>
        (await driver.seen(p)).find(
          (m) => m.id === ref.messageId && /EDITED/.test(m.text) && m.before.some((x) => /POSTED/.test(x)),
        ),
      );
      // The beginning of the text is there: cut at the limit, not dropped.
      expect(shown.text).toMatch(/body0 body1 body2/);
      if (driver.limit) {
        driver.limit.check(shown);
        for (const x of shown.before) driver.limit.check({ ...shown, text: x });
      } else {
        // Where nothing limits a message, nothing is cut.
        expect(shown.text).toContain(hugeView('EDITED').text);
      }
    });

    it.skipIf(driver.rateLimit === undefined)(
      'honours a 429 with its retry-after, and the final message still arrives once',
      async () => {
        const p = await fresh('limited');
        const retryAfterS = 1;
        driver.rateLimit!.refuseNext(p, retryAfterS);
        driver.expectAccepted(await driver.message(p, 'a timer for the rate limit test').send());
        await result(p);
        const refused = driver.rateLimit!.refused(p);
        expect(refused.length).toBeGreaterThan(0);
        for (const call of refused) {
          expect(call.retryAfterMs).toBe(retryAfterS * 1000);
          expect(call.retriedAt, 'the refused call went through later').toBeDefined();
          // Clock granularity of the two processes' timestamps: a few ms.
          expect(call.retriedAt! - call.limitedAt).toBeGreaterThanOrEqual(call.retryAfterMs - 20);
        }
        await barrier();
        expect((await driver.seen(p)).filter(isResult)).toHaveLength(1);
        expect(await footprint(p)).toEqual({ user: true, sessions: 1, builds: 1 });
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    it(
      'when many requests are waiting, a delivery is still accepted and the person is told it will take a while',
      async () => {
        const p = await fresh('busy');
        const queue = t.app.inbound.queue;
        const fillers: string[] = [];
        // Paused, the queue keeps every job waiting: more than INBOUND_BUSY_DEPTH of them make it deep.
        await queue.pause();
        try {
          for (let i = 0; i <= t.config.INBOUND_BUSY_DEPTH; i++) {
            const job = await queue.add(FILLER.kind, FILLER, { jobId: `conformance-filler-${people}-${i}` });
            fillers.push(job.id ?? '');
          }
          await until('the routes to see the queue as deep', async () => t.app.inbound.busy);
          driver.expectAccepted(await driver.message(p, 'a bookmark list for the busy test').send());
        } finally {
          for (const id of fillers) await queue.remove(id);
          await queue.resume();
        }
        await until('the queue to be short again', async () => !t.app.inbound.busy);
        await result(p);
        await barrier();
        const seen = await driver.seen(p);
        // Told once, in the platform's own acknowledgement or reply, and then built once.
        const told = seen.filter((m) => [m.text, ...m.before].some((x) => x.includes(BUSY_NOTE)));
        expect(told, JSON.stringify(seen.map((m) => m.text))).toHaveLength(1);
        expect(seen.filter(isResult)).toHaveLength(1);
        expect(await footprint(p)).toEqual({ user: true, sessions: 1, builds: 1 });
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    it(
      `when this process holds its bound of requests in flight, the platform gets 503 with Retry-After and changes nothing; the delivery is then handled once (${driver.overloaded.comesBack}: ${driver.overloaded.why})`,
      async () => {
        const p = await fresh('overloaded');
        const bound = t.config.INBOUND_MAX_IN_FLIGHT;
        const words = 'a stopwatch for the overload test';
        const make =
          driver.overloaded.comesBack === 'redelivery'
            ? (driver.redelivery ?? driver.message)
            : driver.message;
        const delivery = make.call(driver, p, words);
        const held: { finish(): Promise<Answer> }[] = [];
        // Where some requests over the bound are told "too busy", those places are held too.
        const told = driver.overloaded.toldWhenFull ? t.app.inbound.toldBound : 0;
        let refused: Answer;
        try {
          for (let i = 0; i < bound + told; i++) {
            held.push(hold(driver.raw(await fresh('held'), 'help')));
          }
          await until(
            'the held requests to fill the bound',
            async () => t.app.inbound.requestsInFlight === bound && t.app.inbound.requestsTold === told,
          );
          refused = await delivery.send();
          // A refusal is not a request in flight: the count is still the held ones.
          expect([t.app.inbound.requestsInFlight, t.app.inbound.requestsTold]).toEqual([bound, told]);
        } finally {
          // The held requests finish and are taken as usual.
          for (const a of await Promise.all(held.map((h) => h.finish()))) driver.expectAccepted(a);
        }
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('1');
        await barrier();
        expect(await footprint(p)).toEqual({ user: false, sessions: 0, builds: 0 });
        expect(await driver.seen(p)).toEqual([]);

        const again = driver.overloaded.comesBack === 'redelivery' ? delivery : driver.message(p, words);
        driver.expectAccepted(await again.send(2));
        await result(p);
        await barrier();
        expect((await driver.seen(p)).filter(isResult)).toHaveLength(1);
        expect(await footprint(p)).toEqual({ user: true, sessions: 1, builds: 1 });
      },
      BUILD_CASE_TIMEOUT_MS,
    );

    if (driver.overloaded.toldWhenFull) {
      it(
        `when this process holds its bound of requests in flight, a message the platform never sends again is verified and answered that it was not taken; sent again, it is built once (${driver.overloaded.toldWhenFull})`,
        async () => {
          const p = await fresh('toldfull');
          const bound = t.config.INBOUND_MAX_IN_FLIGHT;
          const words = 'a kitchen timer for the too-busy test';
          const delivery = driver.message(p, words);
          const held: { finish(): Promise<Answer> }[] = [];
          let told: Answer;
          let forged: Answer[];
          try {
            for (let i = 0; i < bound; i++) held.push(hold(driver.raw(await fresh('held'), 'help')));
            await until(
              'the held requests to fill the bound',
              async () => t.app.inbound.requestsInFlight === bound,
            );
            // Verified first, even over the bound: a forgery or a stale replay gets 401 and no answer.
            forged = [];
            for (const f of [
              ...delivery.forgeries().slice(0, 2),
              ...(delivery.replays?.().slice(0, 1) ?? []),
            ]) {
              forged.push(await f.send());
            }
            told = await delivery.send();
            expect([t.app.inbound.requestsInFlight, t.app.inbound.requestsTold]).toEqual([bound, 0]);
          } finally {
            for (const a of await Promise.all(held.map((h) => h.finish()))) driver.expectAccepted(a);
          }
          for (const f of forged) expect(f.status).toBe(401);
          driver.expectAccepted(told);
          await barrier();
          expect(await footprint(p)).toEqual({ user: false, sessions: 0, builds: 0 });
          expect((await driver.seen(p)).map((m) => m.text)).toEqual([expect.stringContaining(TOO_BUSY_NOTE)]);

          // The person sends it again: a new delivery, taken and built once.
          driver.expectAccepted(await driver.message(p, words).send());
          await result(p);
          await barrier();
          expect((await driver.seen(p)).filter(isResult)).toHaveLength(1);
          expect(await footprint(p)).toEqual({ user: true, sessions: 1, builds: 1 });
        },
        BUILD_CASE_TIMEOUT_MS,
      );
    }
  });
}
