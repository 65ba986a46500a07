import { randomBytes } from 'node:crypto';
import { buttonsOf } from './blocks.js';
import type { FakeEphemeral, FakeMessage, FakeSlack } from './server.js';

/**
 * Payloads shaped as Slack sends them (Bolt's SlashCommand, the Events API envelope, the
 * block_actions payload), with fresh ids and `response_url`s from the fake.
 */

export interface Person {
  readonly teamId: string;
  readonly user: string;
  readonly userName?: string;
}

function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e12)}.${randomBytes(16).toString('hex')}`;
}

/** The form fields of a slash command. */
export function slashCommand(
  fake: FakeSlack,
  who: Person & { channel: string; channelName?: string; text: string; command?: string },
): Record<string, string> {
  const workspace = fake.workspace(who.teamId);
  return {
    token: 'legacy-verification-token',
    team_id: who.teamId,
    team_domain: workspace.name.toLowerCase().replace(/\W+/g, ''),
    channel_id: who.channel,
    channel_name: who.channelName ?? (who.channel.startsWith('D') ? 'directmessage' : 'general'),
    user_id: who.user,
    user_name: who.userName ?? who.user.toLowerCase(),
    command: who.command ?? '/spawn',
    text: who.text,
    api_app_id: 'A0SPAWNAI',
    is_enterprise_install: 'false',
    response_url: fake.newResponseUrl({ teamId: who.teamId, channel: who.channel, user: who.user }),
    trigger_id: triggerId(),
  };
}

/** An Events API envelope around one event. */
export function envelope(
  fake: FakeSlack,
  teamId: string,
  event: Record<string, unknown>,
): Record<string, unknown> {
  const workspace = fake.workspace(teamId);
  return {
    token: 'legacy-verification-token',
    team_id: teamId,
    context_team_id: teamId,
    context_enterprise_id: null,
    api_app_id: 'A0SPAWNAI',
    event,
    type: 'event_callback',
    event_id: fake.newId('Ev'),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: workspace.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(12).toString('hex')}`,
  };
}

/** `@SpawnAI <text>` in a channel (optionally inside a thread). */
export function appMention(
  fake: FakeSlack,
  who: Person & { channel: string; text: string; threadTs?: string },
): { envelope: Record<string, unknown>; ts: string } {
  const workspace = fake.workspace(who.teamId);
  const ts = fake.nextTs();
  const event = {
    type: 'app_mention',
    user: who.user,
    text: `<@${workspace.botUserId}> ${who.text}`,
    ts,
    team: who.teamId,
    channel: who.channel,
    event_ts: ts,
    ...(who.threadTs ? { thread_ts: who.threadTs } : {}),
  };
  return { envelope: envelope(fake, who.teamId, event), ts };
}

/** A person's message: in a thread, at the top of a channel, or in the DM with the bot. */
export function userMessage(
  fake: FakeSlack,
  who: Person & { channel: string; text: string; threadTs?: string; files?: Record<string, unknown>[] },
): { envelope: Record<string, unknown>; ts: string } {
  const ts = fake.nextTs();
  const direct = who.channel.startsWith('D');
  const event = {
    type: 'message',
    user: who.user,
    text: who.text,
    ts,
    team: who.teamId,
    channel: who.channel,
    event_ts: ts,
    channel_type: direct ? 'im' : 'channel',
    client_msg_id: randomBytes(16).toString('hex'),
    // Files shared with the message: the `file_share` subtype and its file objects
    // (https://api.slack.com/events/message/file_share).
    ...(who.files ? { subtype: 'file_share', files: who.files, upload: false } : {}),
    ...(who.threadTs
      ? { thread_ts: who.threadTs, parent_user_id: fake.workspace(who.teamId).botUserId }
      : {}),
  };
  return { envelope: envelope(fake, who.teamId, event), ts };
}

/** The message event Slack sends for one of the bot's own posts. */
export function botEcho(fake: FakeSlack, message: FakeMessage): Record<string, unknown> {
  const workspace = fake.workspace(message.teamId);
  return envelope(fake, message.teamId, {
    type: 'message',
    user: workspace.botUserId,
    bot_id: workspace.botId,
    app_id: 'A0SPAWNAI',
    text: message.text,
    ts: message.ts,
    channel: message.channel,
    event_ts: message.ts,
    channel_type: message.channel.startsWith('D') ? 'im' : 'channel',
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
  });
}

/**
 * Presses a button of a message the bot posted (or of an ephemeral one), as `who`: the
 * `block_actions` payload Slack would send, with the button's own action_id and value.
 */
export function pressButton(
  fake: FakeSlack,
  who: Person,
  message: FakeMessage | FakeEphemeral,
  label: string,
): Record<string, unknown> {
  const button = buttonsOf(message.blocks).find(
    (b) => (b.text as { text?: string } | undefined)?.text === label,
  );
  if (!button) throw new Error(`no "${label}" button on the message`);
  const ephemeral = !('ts' in message);
  const ts = 'ts' in message ? message.ts : fake.nextTs();
  const action = {
    action_id: button.action_id,
    block_id: 'spawnai_actions',
    text: button.text,
    type: 'button',
    action_ts: `${Date.now() / 1000}`,
    ...(button.value !== undefined ? { value: button.value } : {}),
    ...(button.url !== undefined ? { url: button.url } : {}),
    ...(button.style !== undefined ? { style: button.style } : {}),
  };
  return {
    type: 'block_actions',
    user: {
      id: who.user,
      username: who.userName ?? who.user.toLowerCase(),
      name: who.user.toLowerCase(),
      team_id: who.teamId,
    },
    api_app_id: 'A0SPAWNAI',
    token: 'legacy-verification-token',
    container: {
      type: 'message',
      message_ts: ts,
      channel_id: message.channel,
      is_ephemeral: ephemeral,
      ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
    },
    trigger_id: triggerId(),
    team: { id: who.teamId, domain: fake.workspace(who.teamId).name.toLowerCase() },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: message.channel.startsWith('D') ? 'directmessage' : 'general' },
    ...(ephemeral
      ? {}
      : {
          message: {
            type: 'message',
            user: fake.workspace(message.teamId).botUserId,
            ts,
            text: message.text,
            blocks: message.blocks,
            ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
          },
        }),
    state: { values: {} },
    response_url: fake.newResponseUrl({ teamId: who.teamId, channel: message.channel, user: who.user }),
    actions: [action],
  };
}
