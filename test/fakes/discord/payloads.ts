import type { FakeChannel, FakeGuild } from './state.js';

/** A channel (text, DM or thread) as the API and the gateway describe it. */
export function channelJson(c: FakeChannel): Record<string, unknown> {
  const base = { id: c.id, type: c.type, ...(c.guild_id ? { guild_id: c.guild_id } : {}) };
  if (c.type === 1) return { ...base, recipients: c.recipients ?? [], last_message_id: null };
  if (c.type === 11) {
    return {
      ...base,
      name: c.name,
      parent_id: c.parent_id,
      owner_id: c.owner_id,
      message_count: 0,
      member_count: 1,
      rate_limit_per_user: 0,
      flags: 0,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: new Date().toISOString(),
        locked: false,
      },
    };
  }
  return {
    ...base,
    name: c.name,
    position: 0,
    parent_id: c.parent_id ?? null,
    permission_overwrites: [],
    nsfw: false,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
  };
}

/** GUILD_CREATE: the guild with its channels and active threads, sent right after READY. */
export function guildCreateJson(guild: FakeGuild, channels: readonly FakeChannel[]): Record<string, unknown> {
  const id = guild.id;
  const inGuild = channels.filter((c) => c.guild_id === id);
  return {
    id,
    name: guild.name,
    icon: null,
    owner_id: guild.owner_id,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    preferred_locale: 'en-US',
    features: [],
    roles: [
      {
        id,
        name: '@everyone',
        color: 0,
        hoist: false,
        position: 0,
        permissions: '1071698660929',
        managed: false,
        mentionable: false,
        flags: 0,
      },
    ],
    emojis: [],
    stickers: [],
    joined_at: new Date().toISOString(),
    large: false,
    unavailable: false,
    member_count: 3,
    members: [],
    voice_states: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    channels: inGuild.filter((c) => c.type !== 11).map((c) => channelJson(c)),
    threads: inGuild.filter((c) => c.type === 11).map((c) => channelJson(c)),
  };
}
