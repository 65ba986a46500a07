import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, slashCommand } from '../../fakes/slack/index.js';
import { until } from '../../helpers/app.js';
import { ACME, ALICE, GLOBEX, type SlackHarness, shown, startSlackApp } from './harness.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp({
    SLACK_CLIENT_ID: '1111.2222',
    SLACK_CLIENT_SECRET: 'client-secret-for-tests',
    ENCRYPTION_KEY: 'ab'.repeat(32),
  });
});
afterAll(async () => {
  await h?.stop();
});

const GLOBEX_USER = { teamId: GLOBEX.teamId, user: 'U0GWEN', userName: 'gwen' };

/** The app's own address for a URL it generated (PUBLIC_URL says localhost). */
function local(url: string): string {
  const u = new URL(url);
  return `${h.t.url}${u.pathname}${u.search}`;
}

/** Walks the browser part of "Add to Slack": install page → Slack consent → our redirect. */
async function startInstall(): Promise<{ cookie: string; redirect: string }> {
  const install = await fetch(`${h.t.url}/slack/install`, { redirect: 'manual' });
  expect(install.status).toBe(302);
  const cookie = (install.headers.get('set-cookie') ?? '').split(';')[0]!;
  expect(cookie).toMatch(/^spawnai_slack_oauth=/);
  const consent = new URL(install.headers.get('location')!);
  expect(consent.origin).toBe(h.fake.url);
  expect(consent.searchParams.get('scope')).toContain('commands');
  const slack = await fetch(consent, { redirect: 'manual' });
  expect(slack.status).toBe(302);
  return { cookie, redirect: local(slack.headers.get('location')!) };
}

describe('slack: "Add to Slack" installs', () => {
  it('installs a workspace, stores its token encrypted, and answers that workspace with its own token', async () => {
    const { fake, t } = h;
    fake.approveNextInstall(GLOBEX);
    const { cookie, redirect } = await startInstall();
    const done = await fetch(redirect, { headers: { cookie } });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('SpawnAI was added to Globex');

    const row = await t.app.repos.slackInstallations.get(GLOBEX.teamId);
    expect(row).toMatchObject({ teamName: 'Globex', botUserId: GLOBEX.botUserId, botId: GLOBEX.botId });
    expect(row?.botTokenEncrypted).not.toContain(GLOBEX.botToken);
    expect(row?.botTokenEncrypted).toMatch(/^v1\./);

    // The same redirect again (a replay) is refused and changes nothing.
    const again = await fetch(redirect, { headers: { cookie } });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('already used');

    // A command from the new workspace: its card is posted with its own token.
    const res = await fake.signer.command(
      slashCommand(fake, { ...GLOBEX_USER, channel: 'C0GLOBEX', text: 'a status page for our servers' }),
    );
    expect(res.status).toBe(200);
    const card = await until('globex card', async () => fake.topLevel('C0GLOBEX')[0]);
    expect(card.token).toBe(GLOBEX.botToken);
    await until('globex result', async () =>
      fake.inThread('C0GLOBEX', card.ts).find((m) => /is ready/.test(shown(m))),
    );
    expect(fake.inChannel('C0GLOBEX').every((m) => m.token === GLOBEX.botToken)).toBe(true);

    // The single-workspace token still serves its own workspace.
    await fake.signer.command(slashCommand(fake, { ...ALICE, channel: 'C0ACME', text: 'a countdown page' }));
    const acme = await until('acme card', async () => fake.topLevel('C0ACME')[0]);
    expect(acme.token).toBe(ACME.botToken);

    // Uninstalled: the token is forgotten; later requests from there start nothing.
    const gone = envelope(fake, GLOBEX.teamId, { type: 'app_uninstalled', event_ts: fake.nextTs() });
    expect((await fake.signer.event(gone)).status).toBe(200);
    await until(
      'installation removed',
      async () => (await t.app.repos.slackInstallations.get(GLOBEX.teamId)) === undefined,
    );
    const after = await fake.signer.command(
      slashCommand(fake, { ...GLOBEX_USER, channel: 'C0GLOBEX2', text: 'a wiki' }),
    );
    expect(after.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.inChannel('C0GLOBEX2')).toHaveLength(0);
  });

  it('refuses a forged, foreign or cancelled install', async () => {
    const { fake } = h;
    // No cookie (another browser), a tampered state, no state at all.
    fake.approveNextInstall(GLOBEX);
    const { cookie, redirect } = await startInstall();
    expect((await fetch(redirect)).status).toBe(400);
    const forged = new URL(redirect);
    forged.searchParams.set('state', `${forged.searchParams.get('state')!.slice(0, -2)}xx`);
    expect((await fetch(forged, { headers: { cookie } })).status).toBe(400);
    const noState = new URL(redirect);
    noState.searchParams.delete('state');
    expect((await fetch(noState, { headers: { cookie } })).status).toBe(400);
    // The person pressed "Cancel" on Slack's page.
    const cancelled = await startInstall();
    const res = await fetch(cancelled.redirect, { headers: { cookie: cancelled.cookie } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Installation cancelled');
    // A code that was never issued.
    const fresh = await startInstall();
    const bogus = new URL(fresh.redirect);
    bogus.searchParams.set('code', 'made-up');
    bogus.searchParams.delete('error');
    const failed = await fetch(bogus, { headers: { cookie: fresh.cookie } });
    expect(failed.status).toBe(502);
    expect(await h.t.app.repos.slackInstallations.list()).toHaveLength(0);
  });
});
