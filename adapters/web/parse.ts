import type { FastifyRequest } from 'fastify';
import { type AttachmentRef, checkBytes, checkDeclared, declaredType } from '../../src/core/attachments.js';
import type { ConversationRef } from '../../src/core/platform.js';
import { ACTION_IDS } from '../../src/core/view.js';
import { SpawnError } from '../../src/errors.js';

/**
 * The web chat's request bodies into what the queue and the conversation take. The page is
 * ours, but its requests are still untrusted input: every shape is checked here.
 */

export const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;
export const SESSION_ID = /^[a-z][a-z0-9]{5,15}$/;
export const ACTIONS = ACTION_IDS;

/** A chat message on the `inbound` queue. */
export interface WebDelivery {
  readonly uid: string;
  readonly clientId: string;
  readonly text: string;
  /** Pictures uploaded with the message, held in Redis until their build (references only here). */
  readonly attachments?: readonly AttachmentRef[];
}

export function conversationOf(uid: string): ConversationRef {
  return { platform: 'web', teamId: '', channelId: uid };
}

/** JSON only: a cross-site form cannot send it without a CORS preflight, which we never allow. */
export function requireJson(request: FastifyRequest): void {
  const type = request.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new SpawnError('ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the request as application/json.');
  }
}

/** The JSON a message may carry its pictures in: base64, as the page reads them from a file input. */
interface UploadedImage {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly data?: unknown;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The pictures of a chat message, checked on the spot (count, declared type, size, and the bytes'
 * own type: they are here already) and refused with the error the page shows, before anything
 * is queued or paid for.
 */
export function readUploads(images: unknown): { name: string; mediaType: string; data: Buffer }[] {
  if (images === undefined) return [];
  if (!Array.isArray(images)) {
    throw new SpawnError('ERR_BAD_REQUEST', 'Send "images" as a list of {"name", "type", "data" (base64)}.');
  }
  const declared = images.map((raw: UploadedImage, i) => {
    if (typeof raw !== 'object' || raw === null || typeof raw.data !== 'string' || !BASE64.test(raw.data)) {
      throw new SpawnError('ERR_BAD_REQUEST', 'Each image needs "data": the file as base64.');
    }
    const name =
      typeof raw.name === 'string' && raw.name !== '' ? raw.name.slice(0, 200) : `picture ${i + 1}`;
    return {
      name,
      mediaType: declaredType(typeof raw.type === 'string' ? raw.type : undefined, name),
      data: raw.data,
    };
  });
  checkDeclared(
    declared.map((d) => ({
      platform: 'web',
      id: d.name,
      name: d.name,
      mediaType: d.mediaType,
      size: Math.floor((d.data.length * 3) / 4),
    })),
  );
  return declared.map((d) => {
    const bytes = Buffer.from(d.data, 'base64');
    const image = checkBytes(
      { platform: 'web', id: d.name, name: d.name, mediaType: d.mediaType, size: 0 },
      bytes,
    );
    return { name: d.name, mediaType: image.mediaType, data: bytes };
  });
}
