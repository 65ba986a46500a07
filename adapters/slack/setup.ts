import type { Config } from '../../src/config/index.js';
import type { PlatformCommand } from '../../src/core/platform-command.js';
import { StartupError } from '../../src/errors.js';
import { slackManifest } from './manifest.js';

const USAGE = 'slack manifest [--socket-mode|--http]   print the Slack app manifest for PUBLIC_URL (JSON)';

/**
 * `spawnai slack manifest`: the app manifest to paste into https://api.slack.com/apps
 * ("Create New App" → "From a manifest"). Socket Mode is chosen with `--socket-mode` or when
 * SLACK_APP_TOKEN is set; otherwise Slack must reach PUBLIC_URL over https.
 */
export const slackCommand: PlatformCommand = {
  name: 'slack',
  usage: [USAGE],
  async run(args: readonly string[], config: Config, out: (text: string) => void): Promise<void> {
    const [sub, ...flags] = args;
    if (sub !== 'manifest') {
      throw new StartupError(`slack: unknown subcommand "${sub ?? ''}"; usage: spawnai ${USAGE}`);
    }
    const unknown = flags.filter((f) => f !== '--socket-mode' && f !== '--http');
    if (unknown.length > 0) throw new StartupError(`slack manifest: unknown option ${unknown[0]}`);
    const socketMode = flags.includes('--http')
      ? false
      : flags.includes('--socket-mode') || Boolean(config.SLACK_APP_TOKEN);
    if (!socketMode && !config.PUBLIC_URL.startsWith('https://')) {
      throw new StartupError(
        `PUBLIC_URL: Slack sends requests only to a public https URL (now ${config.PUBLIC_URL}); set PUBLIC_URL, or use --socket-mode`,
      );
    }
    out(`${JSON.stringify(slackManifest({ publicUrl: config.PUBLIC_URL, socketMode }), null, 2)}\n`);
  },
};
