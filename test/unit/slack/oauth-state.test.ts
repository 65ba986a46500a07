import { describe, expect, it } from 'vitest';
import { OAuthState, SLACK_OAUTH_STATE_TTL_MS } from '../../../adapters/slack/oauth.js';

const key = Buffer.alloc(32, 7);

describe('slack OAuth state (signed, short-lived, same browser)', () => {
  it('verifies its own state from the same browser', () => {
    const s = new OAuthState(key);
    const { state, nonce } = s.issue();
    expect(s.verify(state, nonce)).toBe(nonce);
  });

  it('refuses a tampered, foreign-key, expired or other-browser state', () => {
    let now = 1_000_000;
    const s = new OAuthState(key, () => now);
    const { state, nonce } = s.issue();
    const [n, exp, mac] = state.split('.');
    const refused =
      (st: string | undefined, cookie: string | undefined = nonce) =>
      () =>
        s.verify(st, cookie);
    expect(refused(`${n}.${exp}.${mac!.replace(/.$/, mac!.endsWith('A') ? 'B' : 'A')}`)).toThrow(/not valid/);
    expect(refused(`${n}.${(Number.parseInt(exp!, 36) + 1).toString(36)}.${mac}`)).toThrow(/not valid/);
    expect(refused(new OAuthState(Buffer.alloc(32, 8), () => now).issue().state)).toThrow(/not valid/);
    expect(refused(undefined)).toThrow(/not valid/);
    expect(refused('a.b')).toThrow(/not valid/);
    expect(() => s.verify(state, undefined)).toThrow(/another browser/);
    expect(refused(state, 'x'.repeat(22))).toThrow(/another browser/);
    now += SLACK_OAUTH_STATE_TTL_MS + 1;
    expect(refused(state)).toThrow(/expired/);
  });
});
