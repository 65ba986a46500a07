import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackInstallations } from '../../../adapters/slack/installations.js';
import { createSlackMessenger, SLACK_EDIT_INTERVAL_MS } from '../../../adapters/slack/messenger.js';
import { WebClients, webClientOptions } from '../../../adapters/slack/web-api.js';
import type { ReplyView } from '../../../src/core/view.js';
import { silentLogger } from '../../../src/log.js';
import { FakeSlack, type FakeWorkspace } from '../../fakes/slack/index.js';
import { spawnErrorOf } from '../../helpers/spawn-error.js';

const ACME: FakeWorkspace = {
  teamId: 'T0ACME',
  name: 'Acme',
  botToken: 'xoxb-acme-1',
  botUserId: 'U0BOT',
  botId: 'B0BOT',
};
const view: ReplyView = { tone: 'info', title: 'Hello', text: 'It works.' };
let fake: FakeSlack;

beforeAll(async () => {
  fake = await new FakeSlack({ signingSecret: 's', workspaces: [ACME] }).start();
});
afterAll(async () => {
  await fake?.stop();
});

function messenger(token = ACME.botToken, apiUrl = fake.apiUrl) {
  const logger = silentLogger();
  return createSlackMessenger({
    tokens: new SlackInstallations(undefined, undefined, token),
    clients: new WebClients(webClientOptions(apiUrl, logger)),
    logger,
  });
}

describe('slack messenger (Web API through @slack/web-api, against the fake)', () => {
  it('paces edits by the Slack constant', () => {
    expect(messenger().editIntervalMs({ platform: 'slack', teamId: 'T0ACME', channelId: 'C1' })).toBe(
      SLACK_EDIT_INTERVAL_MS,
    );
  });

  it('starts a thread with a channel post, stays in it, and keeps DMs threadless', async () => {
    const m = messenger();
    const channel = { platform: 'slack' as const, teamId: 'T0ACME', channelId: 'C0M1' };
    const ref = await m.post(channel, view);
    expect(ref.conversation.threadId).toBe(ref.messageId);
    const reply = await m.post(ref.conversation, view);
    expect(reply.conversation.threadId).toBe(ref.messageId);
    expect(fake.inThread('C0M1', ref.messageId).map((x) => x.ts)).toEqual([reply.messageId]);
    await m.update(ref, { ...view, title: 'Edited' });
    expect(fake.topLevel('C0M1')[0]?.text).toContain('Edited');

    const dm = await m.post(
      { platform: 'slack', teamId: 'T0ACME', channelId: 'D0M1', extra: { channelType: 'im' } },
      view,
    );
    expect(dm.conversation.threadId).toBeUndefined();
    await m.postEphemeral(ref.conversation, 'U0ANN', view);
    expect(fake.ephemeralsTo('U0ANN')[0]).toMatchObject({ channel: 'C0M1', threadTs: ref.messageId });
  });

  it('maps 429 to ERR_PLATFORM_RATE_LIMITED with Retry-After, at once', async () => {
    const m = messenger();
    const ref = await m.post({ platform: 'slack', teamId: 'T0ACME', channelId: 'C0M2' }, view);
    fake.rateLimitEvery('chat.update', 1);
    const started = Date.now();
    const e = await spawnErrorOf(m.update(ref, view));
    fake.rateLimitEvery('chat.update', 1_000_000);
    expect(e).toMatchObject({ code: 'ERR_PLATFORM_RATE_LIMITED', kind: 'rate_limited', retryAfterMs: 1000 });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('maps {ok: false} errors onto our codes, without the token', async () => {
    const m = messenger();
    const ref = {
      conversation: { platform: 'slack' as const, teamId: 'T0ACME', channelId: 'C0M3' },
      messageId: '1.000001',
    };
    expect(await spawnErrorOf(m.update(ref, view))).toMatchObject({ code: 'ERR_PLATFORM_NOT_FOUND' });
    fake.failNext('chat.postMessage', 'not_in_channel', 'invalid_blocks');
    expect(await spawnErrorOf(m.post(ref.conversation, view))).toMatchObject({
      code: 'ERR_PLATFORM_PERMISSION',
    });
    expect(await spawnErrorOf(m.post(ref.conversation, view))).toMatchObject({
      code: 'ERR_PLATFORM_INVALID',
    });
    const bad = await spawnErrorOf(messenger('xoxb-wrong-token').post(ref.conversation, view));
    expect(bad).toMatchObject({ code: 'ERR_PLATFORM_AUTH', kind: 'auth' });
    expect(bad.message).not.toContain('xoxb-wrong-token');
    fake.revoke('xoxb-revoked');
    expect(await spawnErrorOf(messenger('xoxb-revoked').post(ref.conversation, view))).toMatchObject({
      code: 'ERR_PLATFORM_AUTH',
    });
  });

  it('maps an unreachable Slack to ERR_PLATFORM_UNAVAILABLE (retryable) after a few quick retries', async () => {
    const e = await spawnErrorOf(
      messenger(ACME.botToken, 'http://127.0.0.1:9/api').post(
        { platform: 'slack', teamId: 'T0ACME', channelId: 'C1' },
        view,
      ),
    );
    expect(e).toMatchObject({ code: 'ERR_PLATFORM_UNAVAILABLE', retryable: true });
  });

  it('answers through a response_url at most five times', async () => {
    const m = messenger();
    const url = fake.newResponseUrl({ teamId: 'T0ACME', channel: 'C1', user: 'U0RESP' });
    for (let i = 0; i < 5; i++) await m.respond(url, view, '1.1');
    expect(fake.responsesTo('U0RESP')).toHaveLength(5);
    expect(fake.responsesTo('U0RESP')[0]?.body).toMatchObject({
      response_type: 'ephemeral',
      thread_ts: '1.1',
    });
    expect(await spawnErrorOf(m.respond(url, view))).toMatchObject({ code: 'ERR_PLATFORM_NOT_FOUND' });
  });
});
