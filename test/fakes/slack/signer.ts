import { createHmac } from 'node:crypto';

/** Slack's delivery agent. */
export const SLACK_USER_AGENT = 'Slackbot 1.0 (+https://api.slack.com/robots)';

export interface SendOptions {
  /** Unix seconds to sign with (default: now). */
  readonly timestamp?: number;
  /** `X-Slack-Retry-Num` (1..3) with `X-Slack-Retry-Reason`. */
  readonly retryNum?: number;
  readonly retryReason?: string;
  /** Overrides the computed signature (forgeries). */
  readonly signature?: string;
  /** Overrides the content type (wrong-type tests). */
  readonly contentType?: string;
  /** Signs with another secret. */
  readonly secret?: string;
}

export interface SignedResponse {
  readonly status: number;
  readonly ms: number;
  readonly text: string;
  readonly headers: Headers;
  json<T = Record<string, unknown>>(): T;
}

/**
 * Sends requests to an app the way Slack does: the exact content types (events as
 * `application/json`, commands and interactivity as `application/x-www-form-urlencoded` with no
 * charset), `X-Slack-Request-Timestamp`, a `v0` HMAC in `X-Slack-Signature`, and the retry
 * headers on redeliveries.
 */
export class SlackSigner {
  constructor(
    readonly signingSecret: string,
    public targetUrl = '',
  ) {}

  sign(timestamp: number, body: string, secret = this.signingSecret): string {
    return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  }

  headers(body: string, contentType: string, options: SendOptions = {}): Record<string, string> {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    return {
      'content-type': options.contentType ?? contentType,
      'user-agent': SLACK_USER_AGENT,
      accept: 'application/json,*/*',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? this.sign(timestamp, body, options.secret),
      ...(options.retryNum !== undefined
        ? {
            'x-slack-retry-num': String(options.retryNum),
            'x-slack-retry-reason': options.retryReason ?? 'http_timeout',
          }
        : {}),
    };
  }

  /** POSTs a body exactly as given, signed. */
  async send(body: string, contentType: string, options: SendOptions = {}): Promise<SignedResponse> {
    const started = performance.now();
    const res = await fetch(this.targetUrl, {
      method: 'POST',
      headers: this.headers(body, contentType, options),
      body,
    });
    const text = await res.text();
    const ms = performance.now() - started;
    return {
      status: res.status,
      ms,
      text,
      headers: res.headers,
      json: <T>() => JSON.parse(text) as T,
    };
  }

  /** An Events API delivery (JSON). */
  event(envelope: Record<string, unknown>, options?: SendOptions): Promise<SignedResponse> {
    return this.send(JSON.stringify(envelope), 'application/json', options);
  }

  /** A slash command (form fields). */
  command(fields: Record<string, string>, options?: SendOptions): Promise<SignedResponse> {
    return this.send(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', options);
  }

  /** An interactivity payload (a form with one `payload` field holding JSON). */
  interaction(payload: Record<string, unknown>, options?: SendOptions): Promise<SignedResponse> {
    return this.send(
      new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      'application/x-www-form-urlencoded',
      options,
    );
  }
}
