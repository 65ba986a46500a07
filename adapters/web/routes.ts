import { readFileSync } from 'node:fs';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { busyView } from '../../bots/busy.js';
import { type AttachmentRef, IMAGE_LIMITS } from '../../src/core/attachments.js';
import type { ConversationHandler, ConversationResult } from '../../src/core/conversation.js';
import type { InboundContext } from '../../src/core/inbound-handler.js';
import { storableText } from '../../src/core/text.js';
import { type ActionId, actionNeedsSession, asVersion, type ReplyView } from '../../src/core/view.js';
import type { Repos } from '../../src/db/repos/index.js';
import { SpawnError } from '../../src/errors.js';
import { InboundQueue } from '../../src/queue/inbound.js';
import type { Redis } from '../../src/redis/connection.js';
import type { PubSub } from '../../src/redis/pubsub.js';
import { inboundGate } from '../../src/server/inbound-gate.js';
import { packageRoot } from '../../src/util/package-root.js';
import { type createWebMessenger, type WebMessage, webChannel } from './messenger.js';
import {
  ACTIONS,
  CLIENT_ID,
  conversationOf,
  readUploads,
  requireJson,
  SESSION_ID,
  type WebDelivery,
} from './parse.js';
import { webMessageOf } from './render.js';
import { existingWebUserId, webUserId } from './verify.js';

export type { WebDelivery } from './parse.js';

export interface WebRouteOptions {
  repos: Pick<Repos, 'webMessages' | 'users' | 'sessions'>;
  pubsub: PubSub;
  prefix: string;
  conversation: ConversationHandler;
  messenger: ReturnType<typeof createWebMessenger>;
  cookieSecret: string;
  secureCookies: boolean;
  promptMaxChars: number;
  inbound: InboundQueue;
  /** Holds uploaded pictures until their build has read them. */
  redis: Redis;
}

/** How long a chat request waits for its answer before it says "queued" (the stream follows). */
export const WEB_REPLY_WAIT_MS = 10_000;

const BUSY: ReplyView = busyView();

/**
 * How long an uploaded picture waits for its build: a build starts within minutes, but a long
 * queue or retries can take a while; its build deletes it as soon as it is over.
 */
export const WEB_UPLOAD_TTL_S = 2 * 3600;

/** Where one uploaded picture waits for its build. */
export function webUploadKey(prefix: string, uid: string, clientId: string, index: number): string {
  return `${prefix}:web-upload:${uid}:${clientId}:${index}`;
}

/** What the worker answers a chat message with (and the request returns when it is quick). */
export interface WebResult {
  readonly message: WebMessage;
  readonly replies: WebMessage[];
  readonly spawn?: ConversationResult['spawn'];
}

function userMessageId(d: WebDelivery): string {
  return `u-${d.uid}-${d.clientId}`;
}

/** Non-ephemeral replies join the history; ephemeral ones go back to this request only. */
async function deliverWebReplies(
  messenger: WebRouteOptions['messenger'],
  uid: string,
  replies: readonly ReplyView[],
): Promise<WebMessage[]> {
  const out: WebMessage[] = [];
  for (const view of replies) {
    if (view.ephemeral) {
      const now = new Date().toISOString();
      out.push({
        id: `tmp-${Math.random().toString(36).slice(2)}`,
        role: 'bot',
        view,
        createdAt: now,
        updatedAt: now,
      });
    } else {
      out.push(await messenger.store(uid, 'bot', view));
    }
  }
  return out;
}

/**
 * The worker side of the web chat: the person's message joins the history (once), the
 * conversation answers, its replies are stored and streamed to the page. Returns what the
 * request shows when it is still waiting.
 */
export function createWebMessageHandler(deps: {
  conversation: ConversationHandler;
  messenger: WebRouteOptions['messenger'];
  promptMaxChars: number;
}) {
  return async (ctx: InboundContext): Promise<WebResult> => {
    const d = ctx.data.payload as WebDelivery;
    const mine = await deps.messenger.store(
      d.uid,
      'user',
      // Kept as shown, even when it holds what Postgres cannot store (the reply says so).
      { text: storableText(d.text.slice(0, deps.promptMaxChars + 100)) },
      userMessageId(d),
    );
    const result = await deps.conversation.handleMessage({
      platform: 'web',
      teamId: '',
      user: { id: d.uid, name: 'web user' },
      conversation: conversationOf(d.uid),
      text: d.text,
      idempotencyKey: `${d.uid}:${d.clientId}`,
      correlationId: `web-${d.clientId}`,
      ...(d.attachments?.length ? { attachments: d.attachments } : {}),
    });
    // Stored replies have ids of their own: a retried job stores them again rather than lose them.
    const replies = await deliverWebReplies(deps.messenger, d.uid, result.replies);
    // A duplicate here is this message's earlier attempt (a resend is the same job): it is new.
    return {
      message: mine,
      replies,
      ...(result.spawn ? { spawn: { ...result.spawn, duplicate: false } } : {}),
    };
  };
}

const SSE_HEARTBEAT_MS = 15_000;

const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/assets/app.js': 'app.js',
  '/assets/app.css': 'app.css',
};
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function requireUser(request: FastifyRequest): string {
  const uid = existingWebUserId(request);
  if (!uid)
    throw new SpawnError('ERR_UNAUTHORIZED', 'Open the chat page first; it sets your session cookie.');
  return uid;
}

/** The built-in web chat: the page at `/`, its JSON API under `/api/web`, and an SSE stream. */
export async function registerWebRoutes(app: FastifyInstance, options: WebRouteOptions): Promise<void> {
  const { repos, messenger } = options;
  await app.register(fastifyCookie, { secret: options.cookieSecret });

  const dir = path.join(packageRoot(), 'adapters', 'web', 'public');
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [route, file] of Object.entries(ASSETS)) {
    files.set(route, { body: readFileSync(path.join(dir, file)), type: TYPES[path.extname(file)]! });
  }
  for (const [route, file] of files) {
    app.get(route, async (request, reply) => {
      if (route === '/') webUserId(request, reply, options.secureCookies);
      return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
    });
  }

  app.get('/api/web/me', async (request, reply) => ({
    userId: webUserId(request, reply, options.secureCookies),
  }));

  app.get('/api/web/messages', async (request) => {
    const uid = requireUser(request);
    const rows = await repos.webMessages.list(uid, 200);
    return {
      messages: rows.map(webMessageOf),
    };
  });

  app.get('/api/web/sessions', async (request) => {
    const uid = requireUser(request);
    const identity = await repos.users.findIdentity('web', '', uid);
    if (!identity) return { sessions: [] };
    const sessions = await repos.sessions.listByUser(identity.userId, { limit: 20 });
    return {
      sessions: sessions.map((s) => ({
        id: s.id,
        title: s.title || s.prompt.slice(0, 60),
        status: s.status,
        previewUrl: s.status === 'live' ? s.previewUrl : null,
        expiresAt: s.expiresAt?.toISOString() ?? null,
        createdAt: s.createdAt.toISOString(),
      })),
    };
  });

  const textLimit = Math.max(16_384, options.promptMaxChars * 4 + 1024);
  app.post(
    '/api/web/messages',
    {
      // The text, and up to IMAGE_LIMITS.maxCount pictures as base64 (4/3 of their bytes); a
      // message without pictures keeps the text's own limit (checked first in the handler).
      bodyLimit: textLimit + Math.ceil((IMAGE_LIMITS.maxCount * IMAGE_LIMITS.maxBytes * 4) / 3) + 4096,
      onRequest: inboundGate(options.inbound),
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body as { text?: unknown; clientId?: unknown; images?: unknown } | undefined;
      const declared = Number(request.headers['content-length'] ?? 0);
      if (
        (body?.images === undefined && declared > textLimit) ||
        (typeof body?.text === 'string' && Buffer.byteLength(body.text) > textLimit)
      ) {
        throw new SpawnError('ERR_BODY_TOO_LARGE');
      }
      requireJson(request);
      const uid = requireUser(request);
      if (
        typeof body?.text !== 'string' ||
        typeof body.clientId !== 'string' ||
        !CLIENT_ID.test(body.clientId)
      ) {
        throw new SpawnError('ERR_BAD_REQUEST', 'Send {"text": string, "clientId": string}.');
      }
      const uploads = readUploads(body.images);
      const clientId = body.clientId;
      const attachments: AttachmentRef[] = [];
      for (const [i, upload] of uploads.entries()) {
        const key = webUploadKey(options.prefix, uid, clientId, i);
        // Only until its build has read it (the build deletes it; the expiry is the backstop).
        try {
          await options.redis.set(key, upload.data, 'EX', WEB_UPLOAD_TTL_S);
        } catch (e) {
          throw new SpawnError('ERR_QUEUE_UNAVAILABLE', undefined, { cause: e, retryAfterMs: 1000 });
        }
        attachments.push({
          platform: 'web',
          id: key,
          name: upload.name,
          mediaType: upload.mediaType,
          size: upload.data.length,
        });
      }
      const delivery: WebDelivery = {
        uid,
        clientId,
        text: body.text,
        ...(attachments.length > 0 ? { attachments } : {}),
      };
      // A resend of the same message (same clientId) is the same job; it is answered as a repeat.
      const first = await options.inbound.claim('web', `${uid}:${body.clientId}`);
      const { jobId, busy } = await options.inbound.enqueue(
        'web',
        `${uid}:${body.clientId}`,
        'message',
        delivery,
        { correlationId: `web-${body.clientId}` },
      );
      const queued = () => {
        const now = new Date().toISOString();
        return reply.status(202).send({
          message: { id: userMessageId(delivery), role: 'user', view: { text: body.text }, createdAt: now },
          replies: busy
            ? [{ id: `tmp-${body.clientId}`, role: 'bot', view: BUSY, createdAt: now, updatedAt: now }]
            : [],
          queued: true,
        });
      };
      // The page follows the answer over its event stream; a quick one also comes back here.
      if (busy) return queued();
      const result = (await options.inbound.waitFor(jobId, WEB_REPLY_WAIT_MS)) as WebResult | undefined;
      if (!result) return queued();
      const spawn = result.spawn && !first ? { ...result.spawn, duplicate: true } : result.spawn;
      return reply
        .status(spawn && !spawn.duplicate ? 202 : 200)
        .send({ ...result, ...(spawn ? { spawn } : {}) });
    },
  );

  /** The answer to one message, once the worker has it (waits a while; 204 while it has not). */
  app.get('/api/web/messages/:clientId/answer', async (request: FastifyRequest, reply: FastifyReply) => {
    const uid = requireUser(request);
    const clientId = (request.params as { clientId?: string }).clientId ?? '';
    if (!CLIENT_ID.test(clientId)) throw new SpawnError('ERR_BAD_REQUEST', 'No such message.');
    const jobId = InboundQueue.jobId('web', `${uid}:${clientId}`);
    const result = (await options.inbound.waitFor(jobId, WEB_REPLY_WAIT_MS)) as WebResult | undefined;
    if (!result) return reply.status(204).send();
    return result;
  });

  app.post('/api/web/actions', { bodyLimit: 4096 }, async (request: FastifyRequest<{ Body: unknown }>) => {
    requireJson(request);
    const uid = requireUser(request);
    const body = request.body as
      | { action?: unknown; sessionId?: unknown; clientId?: unknown; version?: unknown }
      | undefined;
    const action = body?.action as ActionId;
    const needsSession = actionNeedsSession(action);
    const sessionId = typeof body?.sessionId === 'string' ? body.sessionId : '';
    const version = asVersion(body?.version);
    if (
      !ACTIONS.includes(action) ||
      (action === 'undo' && version === undefined) ||
      (needsSession ? !SESSION_ID.test(sessionId) : sessionId !== '' && !SESSION_ID.test(sessionId))
    ) {
      throw new SpawnError(
        'ERR_BAD_REQUEST',
        `Send {"action": ${ACTIONS.map((a) => `"${a}"`).join(' | ')}, "sessionId": string} (and "version": number with "undo").`,
      );
    }
    const result = await options.conversation.handleAction({
      platform: 'web',
      teamId: '',
      user: { id: uid, name: 'web user' },
      conversation: conversationOf(uid),
      action,
      sessionId,
      ...(action === 'undo' && version !== undefined ? { version } : {}),
      idempotencyKey: `${uid}:${typeof body?.clientId === 'string' ? body.clientId : Date.now()}`,
    });
    return { replies: await deliverWebReplies(messenger, uid, result.replies) };
  });

  const streams = new Set<() => void>();
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  app.get('/api/web/events', async (request, reply) => {
    const uid = requireUser(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
    });
    res.write('retry: 2000\n\n');
    const unsubscribe = await options.pubsub.subscribe(webChannel(options.prefix, uid), (message) => {
      res.write(`event: message\ndata: ${message}\n\n`);
    });
    res.write('event: ready\ndata: {}\n\n');
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    const end = () => {
      if (!streams.delete(end)) return;
      clearInterval(heartbeat);
      unsubscribe().catch(() => {});
      res.end();
    };
    streams.add(end);
    request.raw.on('close', end);
  });
}
