/**
 * The Slack app manifest (https://api.slack.com/reference/manifests) for a deployment: the
 * `/spawn` command, the bot's scopes and events, and the request and redirect URLs, all
 * under PUBLIC_URL. With Socket Mode, Slack needs no URLs at all.
 */

/**
 * What the bot may do: answer commands and mentions, read its threads and DMs, post, and tell
 * whether it can post in a conversation before building there (conversations.info needs the
 * read scope of each kind: channels, private channels, DMs, group DMs).
 */
export const SLACK_BOT_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'channels:read',
  'chat:write',
  'chat:write.public',
  'commands',
  // Pictures people attach: `url_private` needs a token with files:read
  // (https://api.slack.com/types/file; https://medium.com/slack-developer-blog/important-changes-to-files-in-the-web-api-eb38f2a9c1e7).
  'files:read',
  'groups:history',
  'groups:read',
  'im:history',
  'im:read',
  'mpim:read',
] as const;

/** Events: mentions, and messages in threads and DMs (thread replies iterate on the app). */
export const SLACK_BOT_EVENTS = ['app_mention', 'message.channels', 'message.groups', 'message.im'] as const;

export const SLACK_COMMAND = '/spawn';

export interface ManifestOptions {
  readonly publicUrl: string;
  readonly socketMode: boolean;
  readonly name?: string;
}

/** The manifest as a JSON-ready object. */
export function slackManifest(options: ManifestOptions): Record<string, unknown> {
  const base = options.publicUrl.replace(/\/+$/, '');
  const eventsUrl = `${base}/slack/events`;
  const name = options.name ?? 'SpawnAI';
  const url = options.socketMode ? {} : { url: eventsUrl };
  const requestUrl = options.socketMode ? {} : { request_url: eventsUrl };
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name,
      description: 'Describe an app in chat; SpawnAI builds it, runs it and sends you the link.',
      background_color: '#1d1c1d',
    },
    features: {
      app_home: {
        home_tab_enabled: false,
        messages_tab_enabled: true,
        messages_tab_read_only_enabled: false,
      },
      bot_user: { display_name: name, always_online: true },
      slash_commands: [
        {
          command: SLACK_COMMAND,
          ...url,
          description: 'Build and run an app from a description',
          usage_hint: '<what to build> | status | list | stop | extend | help',
          should_escape: false,
        },
      ],
    },
    oauth_config: {
      redirect_urls: [`${base}/slack/oauth_redirect`],
      scopes: { bot: [...SLACK_BOT_SCOPES] },
    },
    settings: {
      event_subscriptions: { ...requestUrl, bot_events: [...SLACK_BOT_EVENTS] },
      interactivity: { is_enabled: true, ...requestUrl },
      org_deploy_enabled: false,
      socket_mode_enabled: options.socketMode,
      token_rotation_enabled: false,
    },
  };
}
