import { describe, expect, it } from 'vitest';
import {
  type EventEnvelope,
  normalizeAction,
  normalizeEvent,
  parseBlockActions,
  plainText,
  threadWordToCommand,
} from '../../../adapters/slack/parse.js';

const envelope = (event: Record<string, unknown>): EventEnvelope => ({
  type: 'event_callback',
  team_id: 'T1',
  event_id: 'Ev1',
  event: { type: 'message', ...event },
});

describe('slack normalize', () => {
  it('turns Slack markup back into the words the person wrote', () => {
    expect(
      plainText('<@UBOT> build a page like <https://a.example/x?y=1|a.example> for <#C1|design>', 'UBOT'),
    ).toBe('build a page like https://a.example/x?y=1 for #design');
    expect(plainText('ask <@U2|bob> and <!here> about R&amp;D &lt;3')).toBe(
      'ask @bob and @here about R&D <3',
    );
    expect(plainText('  <mailto:a@b.c|a@b.c>  ')).toBe('mailto:a@b.c');
  });

  it('reads status, list, stop, extend and help alone as commands', () => {
    expect(threadWordToCommand('status')).toBe('/status');
    expect(threadWordToCommand('Stop')).toBe('/stop');
    expect(threadWordToCommand('extend abc123def')).toBe('/extend abc123def');
    expect(threadWordToCommand('stop the music app')).toBe('stop the music app');
    expect(threadWordToCommand('statuses')).toBe('statuses');
  });

  it('ignores bots, edits, joins and our own user', () => {
    const base = { user: 'U1', text: 'hi', ts: '1.1', channel: 'D1', channel_type: 'im' };
    expect(normalizeEvent(envelope({ ...base, bot_id: 'B1' })).kind).toBe('ignore');
    expect(normalizeEvent(envelope({ ...base, subtype: 'channel_join' })).kind).toBe('ignore');
    expect(normalizeEvent(envelope({ ...base, subtype: 'message_deleted' })).kind).toBe('ignore');
    expect(normalizeEvent(envelope({ ...base, user: 'UBOT' }), 'UBOT').kind).toBe('ignore');
    expect(normalizeEvent(envelope({ ...base, text: '   ' })).kind).toBe('ignore');
    expect(normalizeEvent(envelope({ ...base, subtype: 'thread_broadcast' })).kind).toBe('message');
    expect(normalizeEvent(envelope({ ...base, type: 'reaction_added' })).kind).toBe('ignore');
  });

  it('leaves DMs without threads, and mentions in DMs to the message event', () => {
    const dm = normalizeEvent(
      envelope({
        user: 'U1',
        text: 'a wiki',
        ts: '2.2',
        thread_ts: '1.1',
        channel: 'D1',
        channel_type: 'im',
      }),
    );
    expect(dm).toMatchObject({
      kind: 'message',
      message: { conversation: { channelId: 'D1', extra: { channelType: 'im' } } },
    });
    expect(dm.kind === 'message' && dm.message.conversation.threadId).toBeFalsy();
    expect(
      normalizeEvent(envelope({ type: 'app_mention', user: 'U1', text: '<@UB> x', ts: '1.1', channel: 'D1' }))
        .kind,
    ).toBe('ignore');
  });

  it('strips a leading mention even when the bot user id is unknown', () => {
    const d = normalizeEvent(
      envelope({ type: 'app_mention', user: 'U1', text: '<@UB> a wiki', ts: '1.1', channel: 'C1' }),
    );
    expect(d).toMatchObject({
      kind: 'message',
      message: { text: 'a wiki', conversation: { threadId: '1.1' } },
    });
  });

  it('maps our buttons to actions and ignores links and other apps', () => {
    const payload = (action_id: string, value?: string) =>
      parseBlockActions({
        type: 'block_actions',
        trigger_id: 't1',
        user: { id: 'U1', username: 'ann' },
        team: { id: 'T1' },
        channel: { id: 'C1' },
        message: { ts: '5.5', thread_ts: '1.1' },
        actions: [{ action_id, ...(value !== undefined ? { value } : {}) }],
      });
    expect(normalizeAction(payload('spawnai:extend', 'abc123def'))).toMatchObject({
      kind: 'action',
      action: {
        action: 'extend',
        sessionId: 'abc123def',
        conversation: { threadId: '1.1' },
        idempotencyKey: 't1',
      },
    });
    expect(normalizeAction(payload('spawnai:upgrade', ''))).toMatchObject({
      kind: 'action',
      action: { action: 'upgrade' },
    });
    expect(normalizeAction(payload('spawnai:link:0')).kind).toBe('ignore');
    expect(normalizeAction(payload('spawnai:stop', 'DROP TABLE')).kind).toBe('ignore');
    expect(normalizeAction(payload('spawnai:nuke', 'abc123def')).kind).toBe('ignore');
    expect(normalizeAction(payload('other-app', 'abc123def')).kind).toBe('ignore');
  });
});
