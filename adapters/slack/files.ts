import { downloadFile, type FileFetcher } from '../../src/core/attachments.js';
import { SpawnError } from '../../src/errors.js';
import type { SlackTokens } from './installations.js';

/** Where Slack serves private files (https://api.slack.com/types/file: `url_private`). */
const SLACK_FILES_ORIGIN = 'https://files.slack.com';

/**
 * Slack files: `url_private` (or `url_private_download`) with `Authorization: Bearer <bot token>`
 * of the workspace the file was shared in; the token needs files:read
 * (https://api.slack.com/types/file, and Slack's "Important changes to files in the Web API":
 * "url_private and url_private_download ... require an authorization header with a token that has
 * either the files:read or read scopes"). The token only ever goes to Slack's own file host (or
 * the origin of SLACK_API_URL, for a test or a proxy): a URL pointing elsewhere is refused.
 */
export function createSlackFileFetcher(tokens: SlackTokens, apiUrl: string): FileFetcher {
  const allowed = new Set([SLACK_FILES_ORIGIN, new URL(apiUrl).origin]);
  return {
    async download(ref, maxBytes, signal) {
      if (!ref.url || !ref.teamId) throw new SpawnError('ERR_IMAGE_UNAVAILABLE', 'slack file without url');
      let origin: string;
      try {
        origin = new URL(ref.url).origin;
      } catch {
        throw new SpawnError('ERR_IMAGE_UNAVAILABLE', 'slack file url is not a url');
      }
      if (!allowed.has(origin)) {
        throw new SpawnError('ERR_IMAGE_UNAVAILABLE', `slack file url on ${origin}, not Slack's file host`);
      }
      const { token } = await tokens.forTeam(ref.teamId);
      return downloadFile(ref.url, { authorization: `Bearer ${token}` }, ref, maxBytes, signal);
    },
  };
}
