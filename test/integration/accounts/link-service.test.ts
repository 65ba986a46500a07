import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccountHolder,
  AccountService,
  hashCode,
  LINK_CODE_ALPHABET,
  LINK_CODE_TTL_MS,
  normaliseCode,
} from '../../../src/accounts/service.js';
import { type ConversationRef, conversationKey, type Platform } from '../../../src/core/platform.js';
import { SpawnError } from '../../../src/errors.js';
import { SlidingWindowLimiter } from '../../../src/lib/rate-limiter.js';
import { silentLogger } from '../../../src/log.js';
import { uniquePrefix } from '../../helpers/cli.js';
import { DB_KINDS, openTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { cleanupPrefix } from '../../helpers/redis.js';

let seq = 0;
const unique = () => `${Date.now().toString(36)}${(seq++).toString(36)}`;

function person(platform: Platform, name: string): AccountHolder {
  return {
    platform,
    teamId: platform === 'slack' ? 'T0ACME' : '',
    user: { id: `${name}-${unique()}`, name },
  };
}

describe.each(DB_KINDS)('linking accounts on %s', (kind) => {
  let db: TestDatabase;
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  let clock = new Date('2026-12-06T12:00:00Z');
  let accounts: AccountService;

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    accounts = new AccountService({
      repos: db.repos,
      logger: silentLogger(),
      limiter: new SlidingWindowLimiter(redis, prefix),
      now: () => clock,
    });
  });
  afterAll(async () => {
    await db?.drop();
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  const userOf = async (who: AccountHolder) => {
    const identity = await db.repos.users.findIdentity(who.platform, who.teamId, who.user.id);
    return identity ? db.repos.users.get(identity.userId) : undefined;
  };
  const accountOf = async (who: AccountHolder) => (await userOf(who))!.id;

  async function appOf(who: AccountHolder, prompt: string) {
    const { user } = await db.repos.users.upsertByIdentity({
      platform: who.platform,
      teamId: who.teamId,
      platformUserId: who.user.id,
      displayName: who.user.name,
    });
    const conversation: ConversationRef = { platform: who.platform, teamId: who.teamId, channelId: unique() };
    return db.repos.sessions.create({
      id: `s${unique()}`,
      userId: user.id,
      platform: who.platform,
      conversationKey: conversationKey(conversation),
      conversation,
      prompt,
      provider: 'local',
      ttlMinutes: 60,
    });
  }

  async function makePro(who: AccountHolder, customer: string | null) {
    const id = await accountOf(who);
    await db.repos.users.update(id, {
      plan: 'pro',
      planExpiresAt: new Date(clock.getTime() + 30 * 24 * 3600_000),
      stripeCustomerId: customer,
      stripeSubscriptionId: customer ? `sub_${customer}` : null,
    });
  }

  it('gives an 8-character code from an unambiguous alphabet, stored only as a hash', async () => {
    const tom = person('telegram', 'tom');
    const issued = await accounts.issue(tom);
    expect(issued.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    for (const c of issued.code.replace('-', '')) expect(LINK_CODE_ALPHABET).toContain(c);
    expect(LINK_CODE_ALPHABET).not.toMatch(/[01IOL]/);
    expect(issued.expiresAt.getTime() - clock.getTime()).toBe(10 * 60_000);
    const [stored] = await db.repos.accounts.codesOf(await accountOf(tom));
    expect(stored!.codeHash).toBe(hashCode(normaliseCode(issued.code)!));
    expect(JSON.stringify(stored)).not.toContain(issued.code.replace('-', ''));
  });

  it('links: the whole second account joins the first (identities, apps, payments, credits, the paid plan)', async () => {
    const tom = person('telegram', 'tom');
    const sam = person('slack', 'sam');
    const dee = person('discord', 'dee');
    const tomsApp = await appOf(tom, 'a reading list');
    const samsApp = await appOf(sam, 'a lunch poll');
    await db.repos.users.update(await accountOf(tom), { credits: 3 });
    // Sam's account is already two platforms (Slack and Discord) and pays for Pro.
    const samCode = await accounts.issue(sam);
    expect(await accounts.redeem(dee, samCode.code)).toMatchObject({ kind: 'linked' });
    await makePro(sam, 'cus_sam');
    await db.repos.users.update(await accountOf(sam), { credits: 2 });
    const samOld = await accountOf(sam);
    await db.repos.payments.insertOnce({
      userId: samOld,
      provider: 'stripe',
      kind: 'pro',
      plan: 'pro',
      amount: 900,
      currency: 'usd',
      status: 'paid',
    });

    const code = await accounts.issue(tom);
    // Typed in lower case without the dash: still the code.
    const outcome = await accounts.redeem(sam, code.code.replace('-', '').toLowerCase());
    expect(outcome.kind).toBe('linked');
    const tomId = await accountOf(tom);
    for (const who of [sam, dee]) expect(await accountOf(who)).toBe(tomId);
    if (outcome.kind === 'linked') {
      expect(outcome.identities.map((i) => i.platform).sort()).toEqual(['discord', 'slack', 'telegram']);
    }
    const merged = (await db.repos.users.get(tomId))!;
    expect(merged).toMatchObject({
      plan: 'pro',
      credits: 5,
      stripeCustomerId: 'cus_sam',
      stripeSubscriptionId: 'sub_cus_sam',
    });
    expect(await db.repos.users.get(samOld)).toBeUndefined();
    const apps = await db.repos.sessions.listByUser(tomId, { limit: 10 });
    expect(apps.map((s) => s.id).sort()).toEqual([tomsApp.id, samsApp.id].sort());
    expect((await db.repos.payments.listByUser(tomId)).map((p) => p.kind)).toEqual(['pro']);
    expect((await db.repos.audit.listFor('user', tomId)).map((a) => a.action)).toContain('account.linked');
  });

  it('refuses a used code, a wrong code and a malformed one alike, and changes nothing', async () => {
    const tom = person('telegram', 'tom');
    const sam = person('slack', 'sam');
    const eve = person('web', 'eve');
    await appOf(eve, "eve's own app");
    const code = await accounts.issue(tom);
    expect((await accounts.redeem(sam, code.code)).kind).toBe('linked');
    const eveBefore = await userOf(eve);
    const tomBefore = await userOf(tom);

    let wrong = code.code.replace('-', '');
    wrong = `${wrong.slice(0, 7)}${wrong[7] === '2' ? '3' : '2'}`;
    for (const attempt of [code.code, wrong, 'hello']) {
      expect(await accounts.redeem(eve, attempt)).toEqual({ kind: 'invalid' });
    }
    expect(await userOf(eve)).toEqual(eveBefore);
    expect(await userOf(tom)).toEqual(tomBefore);
    expect(await db.repos.users.identitiesOf(tomBefore!.id)).toHaveLength(2);
    expect(await db.repos.sessions.listByUser(eveBefore!.id, { limit: 10 })).toHaveLength(1);
  });

  it('a code works for 10 minutes only', async () => {
    const tom = person('telegram', 'tom');
    const sam = person('slack', 'sam');
    const ann = person('web', 'ann');
    const issuedAt = clock;
    try {
      const late = await accounts.issue(tom);
      clock = new Date(issuedAt.getTime() + LINK_CODE_TTL_MS);
      expect(await accounts.redeem(sam, late.code)).toEqual({ kind: 'invalid' });
      expect(await accountOf(sam)).not.toBe(await accountOf(tom));

      clock = issuedAt;
      const inTime = await accounts.issue(tom);
      clock = new Date(issuedAt.getTime() + LINK_CODE_TTL_MS - 1000);
      expect((await accounts.redeem(ann, inTime.code)).kind).toBe('linked');
    } finally {
      clock = issuedAt;
    }
  });

  it('a new code replaces the account’s unused one; the account’s own code says so and merges nothing', async () => {
    const tom = person('telegram', 'tom');
    const sam = person('slack', 'sam');
    const first = await accounts.issue(tom);
    const second = await accounts.issue(tom);
    expect(await accounts.redeem(sam, first.code)).toEqual({ kind: 'invalid' });
    expect((await accounts.redeem(tom, second.code)).kind).toBe('already');
  });

  it('refuses to merge two paying accounts, and the code stays usable', async () => {
    const tom = person('telegram', 'tom');
    const sam = person('slack', 'sam');
    const ann = person('web', 'ann');
    await accounts.issue(sam); // makes Sam's account
    await makePro(sam, 'cus_sam2');
    const code = await accounts.issue(tom);
    await makePro(tom, null); // paid with Telegram Stars: a plan, no Stripe subscription
    expect(await accounts.redeem(sam, code.code)).toEqual({ kind: 'both-paid' });
    expect(await accountOf(sam)).not.toBe(await accountOf(tom));
    expect((await userOf(sam))!.stripeCustomerId).toBe('cus_sam2');
    expect((await accounts.redeem(ann, code.code)).kind).toBe('linked');
  });

  it('two uses of one code at once: exactly one links', async () => {
    const tom = person('telegram', 'tom');
    const rivals = [person('slack', 'sam'), person('web', 'ann'), person('discord', 'dee')];
    for (const r of rivals) await accounts.issue(r); // each has an account already
    const code = await accounts.issue(tom);
    const outcomes = await Promise.all(rivals.map((r) => accounts.redeem(r, code.code)));
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['invalid', 'invalid', 'linked']);
    const tomId = await accountOf(tom);
    const joined = await Promise.all(rivals.map(async (r) => (await accountOf(r)) === tomId));
    expect(joined.filter(Boolean)).toHaveLength(1);
    expect(await db.repos.users.identitiesOf(tomId)).toHaveLength(2);
  });

  it('limits the codes one identity may try; others are not affected', async () => {
    const tom = person('telegram', 'tom');
    const mallory = person('web', 'mallory');
    const code = await accounts.issue(tom);
    for (let i = 0; i < 5; i++) {
      expect(await accounts.redeem(mallory, `ZZZZ-ZZZ${i + 2}`)).toEqual({ kind: 'invalid' });
    }
    // Over the limit even the right code is not looked at.
    const refused = await accounts.redeem(mallory, code.code).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SpawnError);
    expect((refused as SpawnError).code).toBe('ERR_RATE_LIMITED');
    expect((refused as SpawnError).userMessage).toMatch(/Too many link codes tried; try again in 15 minutes/);
    expect(await accountOf(mallory)).not.toBe(await accountOf(tom));
    expect((await accounts.redeem(person('slack', 'sam'), code.code)).kind).toBe('linked');
  });

  it('limits attempts by everyone together, too', async () => {
    const limited = new AccountService({
      repos: db.repos,
      logger: silentLogger(),
      limiter: new SlidingWindowLimiter(redis, `${prefix}-overall-${kind}`),
      overall: { max: 3, windowMs: 60_000 },
      now: () => clock,
    });
    for (let i = 0; i < 3; i++) {
      expect(await limited.redeem(person('web', `m${i}`), 'ZZZZ-ZZZZ')).toEqual({ kind: 'invalid' });
    }
    await expect(limited.redeem(person('web', 'm4'), 'ZZZZ-ZZZZ')).rejects.toMatchObject({
      code: 'ERR_RATE_LIMITED',
    });
  });

  it('unlink: the identity gets a new free account; apps, plan and credits stay with the account', async () => {
    const tom = person('telegram', 'tom');
    const sam = person('slack', 'sam');
    expect(await accounts.unlink(tom)).toEqual({ kind: 'alone' });
    const app = await appOf(sam, 'a lunch poll');
    const code = await accounts.issue(tom);
    expect((await accounts.redeem(sam, code.code)).kind).toBe('linked');
    const account = await accountOf(tom);
    await makePro(tom, 'cus_tom');
    await db.repos.users.update(account, { credits: 7 });
    const pending = await accounts.issue(sam); // given out before Sam leaves

    const outcome = await accounts.unlink(sam);
    expect(outcome.kind).toBe('unlinked');
    const samNow = (await userOf(sam))!;
    expect(samNow.id).not.toBe(account);
    expect(samNow).toMatchObject({ plan: 'free', credits: 0, stripeCustomerId: null });
    expect(await db.repos.sessions.listByUser(samNow.id, { limit: 10 })).toHaveLength(0);
    expect((await db.repos.sessions.listByUser(account, { limit: 10 })).map((s) => s.id)).toEqual([app.id]);
    expect(await userOf(tom)).toMatchObject({ id: account, plan: 'pro', credits: 7 });
    expect(await accounts.unlink(tom)).toEqual({ kind: 'alone' });
    // The code given out before the unlink joins nobody to the account any more.
    expect(await accounts.redeem(person('web', 'ann'), pending.code)).toEqual({ kind: 'invalid' });
    expect((await db.repos.audit.listFor('user', account)).map((a) => a.action)).toContain(
      'account.unlinked',
    );
  });
});
