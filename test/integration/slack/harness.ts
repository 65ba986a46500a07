import { blocksText, type FakeMessage, FakeSlack, type FakeWorkspace } from '../../fakes/slack/index.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';

export const SIGNING_SECRET = 'slack-signing-secret-for-tests-0123456789';

export const ACME: FakeWorkspace = {
  teamId: 'T0ACME',
  name: 'Acme',
  botToken: 'xoxb-acme-0000000001-abcdefabcdef',
  botUserId: 'U0SPAWNBOT',
  botId: 'B0SPAWNBOT',
};

export const GLOBEX: FakeWorkspace = {
  teamId: 'T0GLOBEX',
  name: 'Globex',
  botToken: 'xoxb-globex-0000000002-fedcbafedcba',
  botUserId: 'U0GLOBEXBOT',
  botId: 'B0GLOBEXBOT',
};

export const ALICE = { teamId: ACME.teamId, user: 'U0ALICE', userName: 'alice' };
export const BOB = { teamId: ACME.teamId, user: 'U0BOB', userName: 'bob' };
export const GENERAL = 'C0GENERAL';

export interface SlackHarness {
  fake: FakeSlack;
  t: TestApp;
  stop(): Promise<void>;
}

/** The real app (web + worker in process) wired to a fake Slack. */
export async function startSlackApp(
  env: Record<string, string> = {},
  fakeOptions: Partial<ConstructorParameters<typeof FakeSlack>[0]> = {},
): Promise<SlackHarness> {
  const fake = await new FakeSlack({
    signingSecret: SIGNING_SECRET,
    workspaces: [ACME],
    clientId: '1111.2222',
    clientSecret: 'client-secret-for-tests',
    appToken: 'xapp-1-A0SPAWNAI-3333-abcdef',
    ...fakeOptions,
  }).start();
  let t: TestApp;
  try {
    t = await startTestApp({
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: ACME.botToken,
      SLACK_API_URL: fake.apiUrl,
      ...env,
    });
  } catch (e) {
    await fake.stop();
    throw e;
  }
  fake.signer.targetUrl = `${t.url}/slack/events`;
  return {
    fake,
    t,
    async stop() {
      await t.stop();
      await fake.stop();
    },
  };
}

/** The text of a message as people see it now (blocks and fallback). */
export function shown(m: { text: string; blocks: readonly Record<string, unknown>[] }): string {
  return `${m.text}\n${blocksText(m.blocks)}`;
}

export function previewUrlIn(m: FakeMessage): string | undefined {
  const match = /http:\/\/[a-z0-9-]+\.localhost:\d+/.exec(shown(m));
  return match?.[0];
}

/** Waits for a message in a thread whose visible text matches. */
export function waitForThreadMessage(
  fake: FakeSlack,
  channel: string,
  threadTs: string,
  match: RegExp,
  timeoutMs = 30_000,
): Promise<FakeMessage> {
  return until(
    `a message matching ${match} in thread ${threadTs}`,
    async () => fake.inThread(channel, threadTs).find((m) => match.test(shown(m))),
    timeoutMs,
  );
}
