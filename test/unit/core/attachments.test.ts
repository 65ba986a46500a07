import { describe, expect, it } from 'vitest';
import {
  type AttachmentRef,
  checkBytes,
  checkDeclared,
  declaredType,
  IMAGE_LIMITS,
  sniffImage,
} from '../../../src/core/attachments.js';
import { SpawnError } from '../../../src/errors.js';
import { JPEG, PDF, PNG } from '../../helpers/pictures.js';

const ref = (over: Partial<AttachmentRef> = {}): AttachmentRef => ({
  platform: 'slack',
  id: 'F1',
  name: 'mock.png',
  mediaType: 'image/png',
  size: 100,
  ...over,
});

function refusal(fn: () => unknown): SpawnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpawnError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('pictures: limits from the Anthropic vision page', () => {
  it('base64 of the largest picture is exactly the API’s 5 MB', () => {
    expect(Math.ceil(IMAGE_LIMITS.maxBytes / 3) * 4).toBe(5 * 1024 * 1024);
  });

  it('knows JPEG, PNG, GIF and WebP by their magic numbers, and nothing else', () => {
    expect(sniffImage(PNG)).toBe('image/png');
    expect(sniffImage(JPEG)).toBe('image/jpeg');
    expect(sniffImage(Buffer.from('GIF89a\x01\x00', 'latin1'))).toBe('image/gif');
    expect(sniffImage(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('image/webp');
    expect(sniffImage(PDF)).toBeUndefined();
    expect(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
  });

  it('reads the declared type from parameters or, without one, the file name', () => {
    expect(declaredType('image/PNG; charset=binary', 'x')).toBe('image/png');
    expect(declaredType('image/jpg', 'x')).toBe('image/jpeg');
    expect(declaredType(undefined, 'photo.JPEG')).toBe('image/jpeg');
    expect(declaredType('', 'notes.txt')).toBe('');
  });

  it('refuses too many, too large and the wrong type before downloading, with the clear message', () => {
    expect(() => checkDeclared([ref(), ref()])).not.toThrow();
    expect(refusal(() => checkDeclared(Array.from({ length: 5 }, () => ref()))).code).toBe('ERR_IMAGE_COUNT');
    const big = refusal(() => checkDeclared([ref({ size: 6 * 1024 * 1024 })]));
    expect(big.code).toBe('ERR_IMAGE_TOO_LARGE');
    expect(big.userMessage).toBe(
      '"mock.png" is 6 MB; I can look at pictures of up to 3.75 MB each. A smaller screenshot or a JPEG will do.',
    );
    const svg = refusal(() => checkDeclared([ref({ name: 'logo.svg', mediaType: 'image/svg+xml' })]));
    expect(svg.code).toBe('ERR_IMAGE_TYPE');
    expect(svg.userMessage).toContain('"logo.svg" is of type image/svg+xml');
    expect(svg.retryable).toBe(false);
  });

  it('checks the downloaded bytes again and takes their real type', () => {
    expect(checkBytes(ref({ mediaType: 'image/jpeg' }), PNG).mediaType).toBe('image/png');
    expect(refusal(() => checkBytes(ref(), PDF)).code).toBe('ERR_IMAGE_TYPE');
    const huge = Buffer.concat([PNG, Buffer.alloc(IMAGE_LIMITS.maxBytes)]);
    expect(refusal(() => checkBytes(ref(), huge)).code).toBe('ERR_IMAGE_TOO_LARGE');
  });
});
