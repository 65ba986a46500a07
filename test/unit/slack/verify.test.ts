import { describe, expect, it } from 'vitest';
import {
  parseForm,
  parseSlackBody,
  SLACK_SIGNATURE_MAX_AGE_S,
  slackSignature,
  verifySlackSignature,
} from '../../../adapters/slack/verify.js';

const SECRET = 'test-signing-secret';
const NOW = 1_767_225_600_000;
const body = Buffer.from('token=x&team_id=T1&command=%2Fspawn&text=hi');
const ts = (offsetS = 0) => String(NOW / 1000 + offsetS);

function check(over: Partial<Parameters<typeof verifySlackSignature>[0]>) {
  const timestamp = over.timestamp ?? ts();
  return () =>
    verifySlackSignature({
      signingSecret: SECRET,
      timestamp,
      signature: slackSignature(SECRET, timestamp, body),
      rawBody: body,
      nowMs: NOW,
      ...over,
    });
}

describe('slack signature (v0 HMAC-SHA256, 5-minute window)', () => {
  it("matches Slack's documented example", () => {
    // https://api.slack.com/authentication/verifying-requests-from-slack
    const example =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', example)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('accepts a fresh, correct signature', () => {
    expect(check({})).not.toThrow();
    expect(check({ timestamp: ts(-SLACK_SIGNATURE_MAX_AGE_S + 1) })).not.toThrow();
  });

  it.each([
    ['a wrong signature', { signature: `v0=${'1'.repeat(64)}` }],
    ['another secret', { signingSecret: 'another' }],
    ['a missing signature', { signature: undefined }],
    ['a missing timestamp', { timestamp: '' }],
    ['a non-numeric timestamp', { timestamp: '12ab' }],
    ['another version', { signature: `v1=${'1'.repeat(64)}` }],
    ['a stale timestamp (replay)', { timestamp: ts(-SLACK_SIGNATURE_MAX_AGE_S - 1) }],
    ['a timestamp far in the future', { timestamp: ts(SLACK_SIGNATURE_MAX_AGE_S + 60) }],
    ['a changed body', { rawBody: Buffer.from('token=x&team_id=T1&command=%2Fspawn&text=ho') }],
  ])('refuses %s with ERR_SLACK_SIGNATURE (401), naming no secret', (_name, over) => {
    let error: unknown;
    try {
      check(over as Partial<Parameters<typeof verifySlackSignature>[0]>)();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_SLACK_SIGNATURE', status: 401 });
    expect(String((error as Error).message)).not.toContain(SECRET);
  });
});

describe('slack body parsing', () => {
  it('reads forms, interactivity payloads and JSON', () => {
    expect(parseSlackBody('application/x-www-form-urlencoded', body)).toEqual({
      format: 'form',
      body: { token: 'x', team_id: 'T1', command: '/spawn', text: 'hi' },
    });
    const payload = Buffer.from(`payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions' }))}`);
    expect(parseSlackBody('application/x-www-form-urlencoded', payload)).toEqual({
      format: 'form',
      body: { type: 'block_actions' },
    });
    expect(parseSlackBody('application/json', Buffer.from('{"type":"event_callback"}')).format).toBe('json');
    expect(parseSlackBody('application/json; charset=utf-8', Buffer.from('{}')).format).toBe('json');
  });

  it.each([
    [
      'a form with a charset (Bolt compares exactly)',
      'application/x-www-form-urlencoded; charset=utf-8',
      body,
    ],
    ['text/plain', 'text/plain', body],
    ['no content type', undefined, body],
    ['multipart', 'multipart/form-data; boundary=x', body],
    ['broken JSON', 'application/json', Buffer.from('{"type":')],
    ['a JSON array', 'application/json', Buffer.from('[]')],
    ['a JSON string', 'application/json', Buffer.from('"hi"')],
    ['a broken payload field', 'application/x-www-form-urlencoded', Buffer.from('payload=%7Bx')],
    ['a payload that is not an object', 'application/x-www-form-urlencoded', Buffer.from('payload=5')],
  ])('refuses %s with a 400', (_name, type, raw) => {
    expect(() => parseSlackBody(type, raw)).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_REQUEST', status: 400 }),
    );
  });
});

describe('slack form fields', () => {
  it.each([
    ['plain fields', 'command=%2Fspawn&text=a+todo+list&user_id=U1'],
    ['plus, percent and UTF-8', 'text=1%2B1+%3D+2+%C3%BCn%C3%AFcode+%F0%9F%8E%89'],
    ['a repeated field (the last wins)', 'text=first&text=second&text=third'],
    ['empty and valueless fields', 'a=&b&=c&&d=1'],
    ['malformed percent escapes', 'text=100%+sure%zz%E2%82'],
    ['a __proto__ field', '__proto__=x&constructor=y&text=z'],
    ['many fields', Array.from({ length: 2000 }, (_, i) => `f${i}=${i}`).join('&')],
  ])('reads %s as URLSearchParams does', (_, text) => {
    const expected = Object.fromEntries(new URLSearchParams(text));
    const form = parseForm(text);
    expect(form).toEqual(expected);
    expect(Object.getPrototypeOf(form)).toBe(Object.prototype);
    expect(Object.keys(form)).toEqual(Object.keys(expected));
  });
});
