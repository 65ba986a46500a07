import type { ImageInput, ImageMediaType } from '../builder/types.js';
import { SpawnError } from '../errors.js';
import type { Platform } from './platform.js';

/**
 * Pictures a person attaches to a request ("make it look like this"). The webhook path only
 * records where a picture is (this reference); the spawn worker fetches the bytes with the
 * platform's own credentials when the build starts and keeps them in memory for that build.
 */
export interface AttachmentRef {
  readonly platform: Platform;
  /** The platform's id: Slack file id, Discord attachment id, Telegram file_id, web upload key. */
  readonly id: string;
  /** File name as the person sent it (shown in refusals). */
  readonly name: string;
  /** The type the platform declares (checked again against the bytes after download). */
  readonly mediaType: string;
  /** The size in bytes the platform declares; 0 when it does not say. */
  readonly size: number;
  /** Slack `url_private_download`, Discord CDN url; absent where the id is enough (Telegram, web). */
  readonly url?: string;
  /** Slack workspace whose bot token may read the file. */
  readonly teamId?: string;
}

/**
 * The media types the Claude API takes in an `image` block:
 * https://platform.claude.com/docs/en/build-with-claude/vision ("Supported image formats: JPEG,
 * PNG, GIF, and WebP"; image block `source.media_type` is one of image/jpeg, image/png,
 * image/gif, image/webp).
 */
export const IMAGE_MEDIA_TYPES = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
] as const satisfies readonly ImageMediaType[];

/**
 * Our limits, inside the API's own (https://platform.claude.com/docs/en/build-with-claude/vision,
 * "General limits": 5 MB per image on the API, 8000x8000 px, up to 100 images per request and a
 * 32 MB request). The 5 MB is measured on the base64 text (Claude Code's apiLimits.ts:
 * "API_IMAGE_MAX_BASE64_SIZE = 5 * 1024 * 1024 ... the base64 length, NOT raw bytes"), so a
 * picture may have 3/4 of it in bytes. Four pictures stay far below the request limit and are
 * plenty for "make it look like this".
 */
export const IMAGE_LIMITS = {
  maxCount: 4,
  maxBytes: (5 * 1024 * 1024 * 3) / 4,
} as const;

/** Fetches the bytes of one platform's attachments with that platform's own credentials. */
export interface FileFetcher {
  /** The bytes (at most `maxBytes`; more is ERR_IMAGE_TOO_LARGE without reading further). */
  download(ref: AttachmentRef, maxBytes: number, signal: AbortSignal): Promise<Buffer>;
  /** Forgets a file we held ourselves (a web upload) once its build is over. */
  release?(ref: AttachmentRef): Promise<void>;
}

export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 2 : 1).replace(/\.?0+$/, '')} MB`;
}

const EXTENSIONS: Record<string, ImageMediaType> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** The declared type, lower-cased without parameters; from the file name when none is declared. */
export function declaredType(mediaType: string | undefined, name: string): string {
  const t = (mediaType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t) return t === 'image/jpg' ? 'image/jpeg' : t;
  return EXTENSIONS[name.split('.').pop()?.toLowerCase() ?? ''] ?? '';
}

function isImageType(t: string): t is ImageMediaType {
  return (IMAGE_MEDIA_TYPES as readonly string[]).includes(t);
}

const quoted = (name: string) => `"${name.length > 60 ? `${name.slice(0, 57)}...` : name}"`;

function wrongType(name: string, what: string): SpawnError {
  return new SpawnError('ERR_IMAGE_TYPE', undefined, {
    userMessage: `I can only look at JPEG, PNG, GIF or WebP pictures, and ${quoted(name)} is ${what}. Send it as one of those (a screenshot works).`,
  });
}

export function tooLarge(name: string, bytes: number | undefined): SpawnError {
  return new SpawnError('ERR_IMAGE_TOO_LARGE', undefined, {
    userMessage: `${quoted(name)} is ${bytes ? megabytes(bytes) : 'too large'}; I can look at pictures of up to ${megabytes(IMAGE_LIMITS.maxBytes)} each. A smaller screenshot or a JPEG will do.`,
  });
}

/**
 * What the platform says about the attachments, checked before anything is downloaded or
 * built: count, declared type and declared size. Throws the refusal the person sees.
 */
export function checkDeclared(refs: readonly AttachmentRef[]): void {
  if (refs.length > IMAGE_LIMITS.maxCount) {
    throw new SpawnError('ERR_IMAGE_COUNT', undefined, {
      userMessage: `You sent ${refs.length} files; I can look at up to ${IMAGE_LIMITS.maxCount} pictures with one request.`,
    });
  }
  for (const ref of refs) {
    const type = declaredType(ref.mediaType, ref.name);
    if (!isImageType(type)) wrongTypeThrow(ref.name, type);
    if (ref.size > IMAGE_LIMITS.maxBytes) throw tooLarge(ref.name, ref.size);
  }
}

function wrongTypeThrow(name: string, type: string): never {
  throw wrongType(name, type ? `of type ${type}` : 'not a picture I know');
}

/**
 * The type of the bytes by their magic number (what the file really is, whatever its name):
 * JPEG FF D8 FF; PNG 89 50 4E 47 0D 0A 1A 0A; GIF "GIF87a"/"GIF89a"; WebP "RIFF" size "WEBP".
 */
export function sniffImage(bytes: Buffer): ImageMediaType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_MAGIC)) return 'image/png';
  if (bytes.length >= 6) {
    const head = bytes.subarray(0, 6).toString('latin1');
    if (head === 'GIF87a' || head === 'GIF89a') return 'image/gif';
  }
  if (
    bytes.length >= 12 &&
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  ) {
    return 'image/webp';
  }
  return undefined;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The downloaded bytes, checked again: real size and real type. */
export function checkBytes(ref: AttachmentRef, data: Buffer): ImageInput {
  if (data.length > IMAGE_LIMITS.maxBytes) throw tooLarge(ref.name, data.length);
  const mediaType = sniffImage(data);
  if (!mediaType) throw wrongType(ref.name, 'not a JPEG, PNG, GIF or WebP file inside');
  return { name: ref.name, mediaType, data };
}

/**
 * Reads a download of at most `maxBytes`, stopping (and refusing) as soon as more arrives: a
 * platform that declared a small file cannot make us hold a large one.
 */
export async function readCapped(res: Response, ref: AttachmentRef, maxBytes: number): Promise<Buffer> {
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(ref.name, length);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(ref.name, undefined);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/**
 * GETs a platform file and reads it within `maxBytes`. A refusal (401, 403, 404, 410) or an HTML
 * page where a file should be (Slack answers a request without a valid token with its sign-in
 * page) cannot get better by trying again; 429, 5xx and network failures can.
 */
export async function downloadFile(
  url: string,
  headers: Record<string, string>,
  ref: AttachmentRef,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  let res: Response;
  try {
    // Node's fetch drops Authorization when a redirect leaves the origin (Fetch standard).
    res = await fetch(url, { headers, signal, redirect: 'follow' });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new SpawnError('ERR_IMAGE_FETCH', `download of ${ref.platform} file failed`, { cause: e });
  }
  if (res.status === 429 || res.status >= 500) {
    await res.body?.cancel().catch(() => {});
    throw new SpawnError('ERR_IMAGE_FETCH', `${ref.platform} file download answered ${res.status}`);
  }
  const type = (res.headers.get('content-type') ?? '').toLowerCase();
  if (!res.ok || type.startsWith('text/html')) {
    await res.body?.cancel().catch(() => {});
    throw new SpawnError('ERR_IMAGE_UNAVAILABLE', `${ref.platform} file download answered ${res.status}`, {
      userMessage: `I could not get ${quoted(ref.name)} from ${PLATFORM_NAMES[ref.platform]}. Send it again, please.`,
    });
  }
  return readCapped(res, ref, maxBytes);
}

const PLATFORM_NAMES: Record<Platform, string> = {
  web: 'the chat',
  slack: 'Slack',
  discord: 'Discord',
  telegram: 'Telegram',
};

/** The spawn worker's way to the bytes of a build's pictures, whatever platform they came from. */
export class AttachmentSource {
  constructor(private readonly fetchers: ReadonlyMap<Platform, FileFetcher>) {}

  /** Every picture, downloaded and checked, in the order they were attached. */
  async fetch(refs: readonly AttachmentRef[], signal: AbortSignal): Promise<ImageInput[]> {
    checkDeclared(refs);
    const out: ImageInput[] = [];
    for (const ref of refs) {
      const fetcher = this.fetchers.get(ref.platform);
      if (!fetcher) {
        throw new SpawnError('ERR_IMAGE_UNAVAILABLE', `no file fetcher for ${ref.platform} in this worker`);
      }
      out.push(checkBytes(ref, await fetcher.download(ref, IMAGE_LIMITS.maxBytes, signal)));
    }
    return out;
  }

  /** Forgets what we held ourselves for these pictures (best effort: each also expires). */
  async release(refs: readonly AttachmentRef[]): Promise<void> {
    for (const ref of refs)
      await this.fetchers
        .get(ref.platform)
        ?.release?.(ref)
        .catch(() => {});
  }
}
