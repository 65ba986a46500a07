import { describe, expect, it } from 'vitest';
import { InvoicePayloads, TELEGRAM_INVOICE_TTL_MS } from '../../../adapters/telegram/payload.js';
import { parseUpdate, verifySecret } from '../../../adapters/telegram/verify.js';
import { isSpawnError } from '../../../src/errors.js';

describe('the webhook secret token', () => {
  it('accepts exactly the secret, and nothing else', () => {
    expect(verifySecret('s3cret_token-1', 's3cret_token-1')).toBe(true);
    for (const given of [
      undefined,
      '',
      's3cret_token-',
      's3cret_token-12',
      'S3CRET_TOKEN-1',
      ['s3cret_token-1'],
      'x'.repeat(300),
    ])
      expect(verifySecret(given as string | string[] | undefined, 's3cret_token-1')).toBe(false);
  });
});

describe('update shape checks', () => {
  it('passes updates and refuses what is not one, with ERR_BAD_REQUEST', () => {
    expect(parseUpdate({ update_id: 0 }).update_id).toBe(0);
    expect(parseUpdate({ update_id: 5, my_chat_member: {} }).update_id).toBe(5);
    for (const bad of [
      null,
      'x',
      [],
      {},
      { update_id: '1' },
      { update_id: -3 },
      { update_id: 2 ** 60 },
      { update_id: 1, message: [] },
    ]) {
      try {
        parseUpdate(bad);
        throw new Error(`accepted ${JSON.stringify(bad)}`);
      } catch (e) {
        expect(isSpawnError(e) && e.code).toBe('ERR_BAD_REQUEST');
      }
    }
  });
});

describe('invoice payloads', () => {
  const payloads = new InvoicePayloads('123:abc');
  const order = {
    kind: 'extend' as const,
    userId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    sessionId: 'k7fq2m9xwdabcdef',
    expiresAt: Date.now() + TELEGRAM_INVOICE_TTL_MS,
  };

  it('round-trips within 128 bytes', () => {
    const payload = payloads.sign(order);
    expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(128);
    expect(payloads.verify(payload)).toEqual({ ...order, expiresAt: Math.floor(order.expiresAt) });
    const plan = payloads.sign({ kind: 'team', userId: order.userId, expiresAt: order.expiresAt });
    expect(payloads.verify(plan)).toMatchObject({ kind: 'team', userId: order.userId });
    expect(payloads.verify(plan)?.sessionId).toBeUndefined();
  });

  it('refuses a changed, foreign or malformed payload', () => {
    const payload = payloads.sign(order);
    const parts = payload.split('.');
    const changed = [
      [parts[0], 'p', ...parts.slice(2)].join('.'), // another kind
      [...parts.slice(0, 3), 'aaaaaaaaaa', ...parts.slice(4)].join('.'), // another app
      [...parts.slice(0, 4), (Number.parseInt(parts[4]!, 36) + 1).toString(36), parts[5]].join('.'), // later expiry
    ];
    for (const p of [
      ...changed,
      `${payload}x`,
      '',
      'v1',
      'x'.repeat(200),
      new InvoicePayloads('123:other').sign(order),
    ])
      expect(payloads.verify(p), p).toBeUndefined();
  });
});
