import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSessionStatus, isTerminal } from '../core/status.js';
import type { Repos } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import type { Queues } from '../queue/producer.js';
import type { SessionLifecycle } from '../spawn/lifecycle.js';
import { packageRoot } from '../util/package-root.js';
import { AdminAuth } from './auth.js';

export interface AdminDeps {
  token: string;
  /** Key of the cookie MAC (the cookie secret). */
  key: string;
  secureCookies: boolean;
  repos: Repos;
  queues: Queues;
  /** The incoming messages, shown first: a backlog here is what people wait on before anything. */
  inbound: Queue;
  lifecycle: SessionLifecycle;
}

const HTML = 'text/html; charset=utf-8';
const SESSION_ID = /^[a-z][a-z0-9]{5,15}$/;

/**
 * `/admin`: the operators' dashboard (sessions, users, builds, revenue, error rates, a daily
 * chart, stopping a session) and the BullMQ board at `/admin/queues`, behind ADMIN_TOKEN.
 * Off when ADMIN_TOKEN is unset.
 */
export async function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const auth = new AdminAuth(deps.token, deps.key);
  const dir = path.join(packageRoot(), 'src', 'admin', 'public');
  const page = readFileSync(path.join(dir, 'index.html'));
  const login = readFileSync(path.join(dir, 'login.html'));
  const script = readFileSync(path.join(dir, 'admin.js'));
  const style = readFileSync(path.join(dir, 'admin.css'));

  await app.register(async (admin) => {
    admin.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const open = request.url === '/admin/login' || request.url.startsWith('/admin/assets/');
      if (open || auth.allowed(request)) return;
      const wantsHtml = request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
      if (wantsHtml) return reply.status(401).type(HTML).send(login);
      return reply.status(401).send({ error: { code: 'ERR_UNAUTHORIZED', message: 'Not authorized.' } });
    });

    admin.get('/admin/login', async (_request, reply) => reply.type(HTML).send(login));
    admin.post('/admin/login', async (request, reply) => {
      const token = (request.body as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string' || !auth.matches(token)) {
        return reply.status(401).type(HTML).send(login);
      }
      auth.setSession(reply, deps.secureCookies);
      return reply.redirect('/admin', 303);
    });
    admin.get('/admin/assets/admin.js', async (_r, reply) =>
      reply.type('text/javascript; charset=utf-8').send(script),
    );
    admin.get('/admin/assets/admin.css', async (_r, reply) =>
      reply.type('text/css; charset=utf-8').send(style),
    );
    admin.get('/admin', async (_request, reply) => reply.type(HTML).send(page));

    admin.get('/admin/api/overview', async () => ({
      totals: await deps.repos.admin.totals(),
      daily: await deps.repos.admin.daily(14),
    }));
    admin.get('/admin/api/sessions', async (request) => {
      const q = request.query as Record<string, string | undefined>;
      if (q.status && !isSessionStatus(q.status)) throw new SpawnError('ERR_BAD_REQUEST', 'Unknown status.');
      return {
        sessions: await deps.repos.admin.sessions({
          status: q.status,
          platform: q.platform,
          provider: q.provider,
        }),
      };
    });
    admin.get('/admin/api/users', async () => ({ users: await deps.repos.admin.users() }));
    admin.get('/admin/api/builds', async () => ({ builds: await deps.repos.admin.builds() }));
    admin.post('/admin/api/sessions/:id/stop', async (request) => {
      const { id } = request.params as { id: string };
      if (!SESSION_ID.test(id)) throw new SpawnError('ERR_BAD_REQUEST', 'Bad session id.');
      const session = await deps.repos.sessions.get(id);
      if (!session) throw new SpawnError('ERR_SESSION_NOT_FOUND');
      if (isTerminal(session.status)) return { session: { id, status: session.status } };
      const ended = await deps.lifecycle.end(session, 'stopped', 'admin', 'stopped by an operator');
      return { session: { id, status: ended.status } };
    });

    const board = new FastifyAdapter();
    createBullBoard({
      queues: [deps.inbound, deps.queues.spawn, deps.queues.notify, deps.queues.reap].map(
        (q) => new BullMQAdapter(q),
      ),
      serverAdapter: board,
      options: { uiConfig: { boardTitle: 'SpawnAI queues' } },
    });
    board.setBasePath('/admin/queues');
    await admin.register(board.registerPlugin(), { prefix: '/admin/queues' });
  });
}
