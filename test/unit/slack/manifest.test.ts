import { describe, expect, it } from 'vitest';
import { SLACK_BOT_EVENTS, SLACK_BOT_SCOPES } from '../../../adapters/slack/manifest.js';
import { slackCommand } from '../../../adapters/slack/setup.js';
import { loadConfig } from '../../../src/config/index.js';
import { StartupError } from '../../../src/errors.js';

interface Manifest {
  features: {
    slash_commands: { command: string; url?: string }[];
    app_home: { messages_tab_enabled: boolean };
  };
  settings: {
    event_subscriptions: { request_url?: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url?: string };
    socket_mode_enabled: boolean;
  };
  oauth_config: { redirect_urls: string[]; scopes: { bot: string[] } };
}

async function run(args: string[], env: Record<string, string> = {}): Promise<Manifest> {
  let out = '';
  await slackCommand.run(args, loadConfig({ ...env }, '/tmp'), (t) => {
    out += t;
  });
  return JSON.parse(out) as Manifest;
}

describe('spawnai slack manifest', () => {
  it('prints a manifest with the command, scopes, events, interactivity and redirect under PUBLIC_URL', async () => {
    const m = await run(['manifest'], { PUBLIC_URL: 'https://spawn.example.com/' });
    expect(m.features.slash_commands[0]).toMatchObject({
      command: '/spawn',
      url: 'https://spawn.example.com/slack/events',
    });
    expect(m.settings.event_subscriptions).toEqual({
      request_url: 'https://spawn.example.com/slack/events',
      bot_events: [...SLACK_BOT_EVENTS],
    });
    expect(m.settings.interactivity).toEqual({
      is_enabled: true,
      request_url: 'https://spawn.example.com/slack/events',
    });
    expect(m.oauth_config.redirect_urls).toEqual(['https://spawn.example.com/slack/oauth_redirect']);
    expect(m.oauth_config.scopes.bot).toEqual([...SLACK_BOT_SCOPES]);
    expect(m.features.app_home.messages_tab_enabled).toBe(true);
    expect(m.settings.socket_mode_enabled).toBe(false);
  });

  it('needs no public URL for Socket Mode', async () => {
    const m = await run(['manifest', '--socket-mode']);
    expect(m.settings.socket_mode_enabled).toBe(true);
    expect(m.settings.event_subscriptions.request_url).toBeUndefined();
    expect(m.features.slash_commands[0]?.url).toBeUndefined();
    const viaToken = await run(['manifest'], { SLACK_APP_TOKEN: 'xapp-1-A1-2-abc' });
    expect(viaToken.settings.socket_mode_enabled).toBe(true);
  });

  it('refuses an http PUBLIC_URL and unknown arguments with one line', async () => {
    await expect(run(['manifest'])).rejects.toThrow(StartupError);
    await expect(run(['manifest'])).rejects.toThrow(/^PUBLIC_URL: /);
    await expect(run(['install'])).rejects.toThrow(/unknown subcommand/);
    await expect(run(['manifest', '--yaml'], { PUBLIC_URL: 'https://x.example' })).rejects.toThrow(
      /unknown option/,
    );
    expect(slackCommand.usage[0]).toMatch(/^slack manifest/);
  });
});
