import type { AttachmentRef, FileFetcher } from '../../src/core/attachments.js';
import { tooLarge } from '../../src/core/attachments.js';
import { SpawnError } from '../../src/errors.js';
import type { Redis } from '../../src/redis/connection.js';
import { WEB_UPLOAD_TTL_S } from './routes.js';

/**
 * The web chat's pictures: the page uploads them with the message, the route keeps them in Redis
 * under the reference's id (with an expiry), and the build reads and then deletes them.
 */
export function createWebFileFetcher(redis: Redis, prefix: string): FileFetcher {
  const ours = (ref: AttachmentRef) => ref.id.startsWith(`${prefix}:web-upload:`);
  return {
    async download(ref, maxBytes) {
      if (!ours(ref)) throw new SpawnError('ERR_IMAGE_UNAVAILABLE', 'not a web upload key');
      let bytes: Buffer | null;
      try {
        bytes = await redis.getBuffer(ref.id);
      } catch (e) {
        throw new SpawnError('ERR_IMAGE_FETCH', 'reading a web upload failed', { cause: e });
      }
      if (!bytes) {
        throw new SpawnError('ERR_IMAGE_UNAVAILABLE', 'web upload expired', {
          userMessage: `"${ref.name}" is no longer here (pictures wait ${WEB_UPLOAD_TTL_S / 3600} hours for their build). Send it again, please.`,
        });
      }
      if (bytes.length > maxBytes) throw tooLarge(ref.name, bytes.length);
      return bytes;
    },
    async release(ref) {
      if (ours(ref)) await redis.del(ref.id);
    },
  };
}
