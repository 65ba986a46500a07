import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError, SpawnError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { Redis } from '../../src/redis/connection.js';
import type { SlackInstallations } from './installations.js';
import { SLACK_BOT_SCOPES } from './manifest.js';
import { callSlack } from './web-api.js';

/** How long an install link (its `state`) is good for. */
export const SLACK_OAUTH_STATE_TTL_MS = 10 * 60_000;
/** Binds the `state` to the browser that started the install (CSRF). */
export const SLACK_STATE_COOKIE = 'spawnai_slack_oauth';
export const SLACK_INSTALL_PATH = '/slack/install';
export const SLACK_REDIRECT_PATH = '/slack/oauth_redirect';

const NONCE = /^[A-Za-z0-9_-]{22}$/;

/**
 * The OAuth `state`: `<nonce>.<expiry>.<hmac>`, signed with a key of ours, short-lived, and
 * checked against the nonce in the starting browser's cookie. Single use is enforced by the
 * caller (a Redis key per nonce), so it holds across web processes.
 */
export class OAuthState {
  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(`slack-oauth-state:${payload}`).digest('base64url');
  }

  issue(): { state: string; nonce: string } {
    const nonce = randomBytes(16).toString('base64url');
    const payload = `${nonce}.${(this.now() + SLACK_OAUTH_STATE_TTL_MS).toString(36)}`;
    return { state: `${payload}.${this.mac(payload)}`, nonce };
  }

  /** The nonce of a valid, unexpired state from the same browser; throws ERR_UNAUTHORIZED otherwise. */
  verify(state: string | undefined, cookieNonce: string | undefined): string {
    const refuse = (why: string): never => {
      throw new SpawnError(
        'ERR_UNAUTHORIZED',
        `This install link is ${why}. Start again from ${SLACK_INSTALL_PATH}.`,
      );
    };
    const parts = (state ?? '').split('.');
    if (parts.length !== 3) return refuse('not valid');
    const [nonce, expiry, mac] = parts as [string, string, string];
    if (!NONCE.test(nonce) || !/^[0-9a-z]{1,12}$/.test(expiry)) return refuse('not valid');
    const expected = Buffer.from(this.mac(`${nonce}.${expiry}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse('not valid');
    if (Number.parseInt(expiry, 36) < this.now()) return refuse('expired');
    if (!cookieNonce || cookieNonce !== nonce) return refuse('from another browser');
    return nonce;
  }
}

export interface OAuthRouteOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The Slack Web API base (SLACK_API_URL); the authorize page is on the same origin. */
  readonly apiUrl: string;
  readonly publicUrl: string;
  readonly stateKey: Buffer;
  readonly redis: Redis;
  readonly prefix: string;
  readonly installations: SlackInstallations;
  readonly clientOptions: WebClientOptions;
  readonly logger: Logger;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(reply: FastifyReply, status: number, title: string, text: string): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
        `<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main></body></html>`,
    );
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * "Add to Slack": `GET /slack/install` sends the person to Slack's consent page with a signed
 * state; `GET /slack/oauth_redirect` checks the state (signature, age, same browser, first use),
 * exchanges the code with `oauth.v2.access` and stores the workspace's bot token, encrypted.
 */
export async function registerOAuthRoutes(app: FastifyInstance, options: OAuthRouteOptions): Promise<void> {
  const state = new OAuthState(options.stateKey);
  const redirectUri = `${options.publicUrl}${SLACK_REDIRECT_PATH}`;
  const secure = options.publicUrl.startsWith('https://');
  const cookieAttributes = `Path=/slack; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  const authorizeUrl = new URL('/oauth/v2/authorize', new URL(options.apiUrl).origin);
  const log = options.logger;

  app.get(SLACK_INSTALL_PATH, async (_request, reply) => {
    const issued = state.issue();
    const url = new URL(authorizeUrl);
    url.searchParams.set('client_id', options.clientId);
    url.searchParams.set('scope', SLACK_BOT_SCOPES.join(','));
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('state', issued.state);
    return reply
      .header(
        'set-cookie',
        `${SLACK_STATE_COOKIE}=${issued.nonce}; Max-Age=${SLACK_OAUTH_STATE_TTL_MS / 1000}; ${cookieAttributes}`,
      )
      .header('cache-control', 'no-store')
      .redirect(url.toString(), 302);
  });

  app.get(
    SLACK_REDIRECT_PATH,
    async (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
      const query = request.query ?? {};
      reply.header('set-cookie', `${SLACK_STATE_COOKIE}=; Max-Age=0; ${cookieAttributes}`);
      let nonce: string;
      try {
        nonce = state.verify(query.state, cookieValue(request, SLACK_STATE_COOKIE));
      } catch (e) {
        return page(
          reply,
          400,
          'Installation not completed',
          e instanceof SpawnError ? e.userMessage : 'Invalid state.',
        );
      }
      // Single use, across every web process.
      const first = await options.redis.set(
        `${options.prefix}:slack:oauth-state:${nonce}`,
        '1',
        'PX',
        SLACK_OAUTH_STATE_TTL_MS,
        'NX',
      );
      if (first !== 'OK') {
        return page(
          reply,
          400,
          'Installation not completed',
          `This install link was already used. Start again from ${SLACK_INSTALL_PATH}.`,
        );
      }
      if (query.error) {
        return page(reply, 200, 'Installation cancelled', 'SpawnAI was not added to your workspace.');
      }
      if (typeof query.code !== 'string' || query.code === '' || query.code.length > 512) {
        return page(reply, 400, 'Installation not completed', 'Slack did not send an authorization code.');
      }
      try {
        const client = new WebClient(undefined, options.clientOptions);
        const access = await callSlack('oauth.v2.access', () =>
          client.oauth.v2.access({
            client_id: options.clientId,
            client_secret: options.clientSecret,
            code: query.code!,
            redirect_uri: redirectUri,
          }),
        );
        const token = access.access_token;
        const teamId = access.team?.id ?? null;
        const enterpriseId = access.enterprise?.id ?? null;
        const id = access.is_enterprise_install ? enterpriseId : teamId;
        if (!token || !access.bot_user_id || !id) {
          throw new SpawnError('ERR_PLATFORM_INVALID', 'Slack did not return a bot token.');
        }
        // auth.test checks the token and tells the bot id (oauth.v2.access does not).
        const identity = await callSlack('auth.test', () =>
          new WebClient(token, options.clientOptions).auth.test(),
        );
        await options.installations.save({
          id,
          teamId,
          enterpriseId,
          teamName: access.team?.name ?? access.enterprise?.name ?? '',
          appId: access.app_id ?? null,
          botUserId: access.bot_user_id,
          botId: identity.bot_id ?? null,
          botToken: token,
          scopes: access.scope ?? '',
          installedBy: access.authed_user?.id ?? null,
        });
        log.info({ teamId: id }, 'slack workspace installed');
        const name = access.team?.name ?? access.enterprise?.name ?? 'your workspace';
        return page(
          reply,
          200,
          'SpawnAI is installed',
          `SpawnAI was added to ${name}. Type /spawn in any channel to build an app.`,
        );
      } catch (e) {
        log.warn({ err: describeError(e) }, 'slack install failed');
        return page(
          reply,
          502,
          'Installation not completed',
          'Slack did not accept the installation. Please try again.',
        );
      }
    },
  );
}
