import type { Api } from 'grammy';
import type { Message } from 'grammy/types';
import {
  type AttachmentRef,
  downloadFile,
  type FileFetcher,
  IMAGE_LIMITS,
  tooLarge,
} from '../../src/core/attachments.js';
import { isSpawnError, SpawnError } from '../../src/errors.js';
import { callTelegram } from './api.js';

/**
 * The pictures of a message. A photo comes as an array of PhotoSize, one per size Telegram keeps
 * (https://core.telegram.org/bots/api#message, #photosize), always JPEG: the largest that fits our
 * limit is taken (or the largest, refused with its size). A file sent "as a file" is a `document`
 * with its own name and MIME type (https://core.telegram.org/bots/api#document), checked as such.
 */
export function attachmentsOf(message: Pick<Message, 'photo' | 'document'>): AttachmentRef[] {
  if (message.photo && message.photo.length > 0) {
    const sizes = [...message.photo].sort((a, b) => a.width * a.height - b.width * b.height);
    const fits = sizes.filter((s) => (s.file_size ?? 0) <= IMAGE_LIMITS.maxBytes);
    const best = fits.at(-1) ?? sizes.at(-1)!;
    return [
      {
        platform: 'telegram',
        id: best.file_id,
        name: 'photo.jpg',
        mediaType: 'image/jpeg',
        size: best.file_size ?? 0,
      },
    ];
  }
  const d = message.document;
  if (d) {
    return [
      {
        platform: 'telegram',
        id: d.file_id,
        name: d.file_name ?? 'file',
        mediaType: d.mime_type ?? '',
        size: d.file_size ?? 0,
      },
    ];
  }
  return [];
}

/**
 * Downloads in two steps, as https://core.telegram.org/bots/api#getfile says: `getFile` gives a
 * `file_path` ("bots can download files of up to 20MB in size"), then
 * `https://api.telegram.org/file/bot<token>/<file_path>` has the bytes (the link is valid for at
 * least an hour). The token is in that URL: it never goes into a message or a log line.
 */
export function createTelegramFileFetcher(api: Api, token: string, apiRoot: string): FileFetcher {
  return {
    async download(ref, maxBytes, signal) {
      let file: Awaited<ReturnType<Api['getFile']>>;
      try {
        file = await callTelegram('getFile', () => api.getFile(ref.id));
      } catch (e) {
        if (isSpawnError(e) && e.retryable) throw e;
        throw new SpawnError('ERR_IMAGE_UNAVAILABLE', isSpawnError(e) ? e.message : 'getFile failed', {
          cause: e,
          userMessage: `I could not get "${ref.name}" from Telegram (it may be over Telegram's 20 MB limit for bots). Send it again, please.`,
        });
      }
      if (file.file_size !== undefined && file.file_size > maxBytes) throw tooLarge(ref.name, file.file_size);
      if (!file.file_path) throw new SpawnError('ERR_IMAGE_UNAVAILABLE', 'getFile gave no file_path');
      const url = `${apiRoot.replace(/\/$/, '')}/file/bot${token}/${file.file_path}`;
      return downloadFile(url, {}, ref, maxBytes, signal);
    },
  };
}
