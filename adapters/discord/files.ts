import { type AttachmentRef, downloadFile, type FileFetcher } from '../../src/core/attachments.js';
import { SpawnError } from '../../src/errors.js';

/** Where Discord serves attachments (https://discord.com/developers/docs/reference, CDN). */
const DISCORD_CDN_ORIGINS = ['https://cdn.discordapp.com', 'https://media.discordapp.net'];

/** What a message attachment says about itself (discord.js Attachment, or the raw object). */
export interface DiscordAttachmentLike {
  readonly id: string;
  readonly name?: string | null;
  readonly filename?: string;
  readonly contentType?: string | null;
  readonly content_type?: string;
  readonly size: number;
  readonly url: string;
}

/**
 * Message attachments as references: id, filename, `content_type`, `size` and `url`
 * (https://discord.com/developers/docs/resources/message#attachment-object).
 */
export function discordAttachments(list: Iterable<DiscordAttachmentLike>): AttachmentRef[] {
  return [...list].map((a) => {
    const name = a.name ?? a.filename ?? a.id;
    return {
      platform: 'discord',
      id: a.id,
      name,
      mediaType: a.contentType ?? a.content_type ?? '',
      size: a.size,
      url: a.url,
    };
  });
}

/**
 * Attachment bytes from the CDN. Its URLs are signed ("Signed Attachment CDN URLs": `ex`, `is`,
 * `hm` parameters, valid until `ex`, https://discord.com/developers/docs/reference): the
 * signature is the credential, so the bot token never goes with it. Only Discord's CDN hosts
 * (or the origin of DISCORD_API_URL, for a test or a proxy) are fetched from.
 */
export function createDiscordFileFetcher(apiUrl: string): FileFetcher {
  const allowed = new Set([...DISCORD_CDN_ORIGINS, new URL(apiUrl).origin]);
  return {
    async download(ref, maxBytes, signal) {
      let origin = '';
      try {
        origin = ref.url ? new URL(ref.url).origin : '';
      } catch {}
      if (!ref.url || !allowed.has(origin)) {
        throw new SpawnError('ERR_IMAGE_UNAVAILABLE', `discord attachment url not on Discord's CDN`);
      }
      return downloadFile(ref.url, {}, ref, maxBytes, signal);
    },
  };
}
