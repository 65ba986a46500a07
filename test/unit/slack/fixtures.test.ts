import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  botUserIdOf,
  classifySlackBody,
  normalizeAction,
  normalizeCommand,
  normalizeEvent,
  parseBlockActions,
  type SlackInbound,
} from '../../../adapters/slack/parse.js';
import { parseSlackBody, slackSignature, verifySlackSignature } from '../../../adapters/slack/verify.js';
import { SpawnError } from '../../../src/errors.js';

/** Recorded-shape Slack payloads, replayed through verify → parse → normalize. */
interface Fixture {
  description: string;
  contentType: string;
  form?: Record<string, string>;
  payload?: Record<string, unknown>;
  json?: Record<string, unknown>;
  expect: Record<string, unknown> & { kind: string };
}

const DIR = path.resolve(import.meta.dirname, '../../fixtures/slack');
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as Fixture] as const);

function rawBody(f: Fixture): string {
  if (f.form) return new URLSearchParams(f.form).toString();
  if (f.payload) return new URLSearchParams({ payload: JSON.stringify(f.payload) }).toString();
  return JSON.stringify(f.json);
}

/** What the webhook path makes of an inbound: the decision it hands on. */
function decide(inbound: SlackInbound): Record<string, unknown> {
  switch (inbound.kind) {
    case 'command':
      return { kind: 'command', message: normalizeCommand(inbound.command) };
    case 'event':
      return { ...normalizeEvent(inbound.envelope, botUserIdOf(inbound.envelope)) };
    case 'interaction':
      return { ...normalizeAction(parseBlockActions(inbound.payload)) };
    default:
      return { ...inbound };
  }
}

function verifyAndParse(body: Buffer, contentType: string, signature?: string) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  verifySlackSignature({
    signingSecret: SECRET,
    timestamp,
    signature: signature ?? slackSignature(SECRET, timestamp, body),
    rawBody: body,
  });
  return classifySlackBody(parseSlackBody(contentType, body));
}

describe('slack fixtures: verify → parse → normalize', () => {
  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
  });

  for (const [file, fixture] of fixtures) {
    it(`${file}: ${fixture.description}`, () => {
      const body = Buffer.from(rawBody(fixture), 'utf8');
      expect(decide(verifyAndParse(body, fixture.contentType))).toMatchObject(fixture.expect);

      // One byte changed after signing: refused as a forgery.
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = slackSignature(SECRET, timestamp, body);
      const tampered = Buffer.from(body);
      tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
      expect(() =>
        verifySlackSignature({ signingSecret: SECRET, timestamp, signature, rawBody: tampered }),
      ).toThrow(expect.objectContaining({ code: 'ERR_SLACK_SIGNATURE', status: 401 }));

      // The other content type than Slack uses for this kind of request: a 400.
      const other =
        fixture.contentType === 'application/json' ? 'application/x-www-form-urlencoded' : 'application/json';
      let refused: unknown;
      try {
        decide(verifyAndParse(body, other));
      } catch (e) {
        refused = e;
      }
      expect(refused).toBeInstanceOf(SpawnError);
      expect((refused as SpawnError).status).toBe(400);
    });
  }
});
