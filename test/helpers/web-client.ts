import { randomUUID } from 'node:crypto';
import type { ReplyView } from '../../src/core/view.js';
import { sleep } from '../../src/util/time.js';

export interface WebMessage {
  id: string;
  role: 'user' | 'bot';
  view: ReplyView & { text: string };
  createdAt: string;
  updatedAt: string;
}

/** How many times the page sends a message again after a 503 with Retry-After. */
const PAGE_RESENDS = 5;

/** A browser-less web chat user: keeps its cookie, speaks the page's JSON API. */
export class WebChatClient {
  private cookie = '';

  constructor(readonly baseUrl: string) {}

  async open(): Promise<string> {
    const res = await fetch(`${this.baseUrl}/api/web/me`, { headers: this.headers() });
    this.keepCookie(res);
    return ((await res.json()) as { userId: string }).userId;
  }

  private headers(json = false): Record<string, string> {
    return {
      ...(this.cookie ? { cookie: this.cookie } : {}),
      ...(json ? { 'content-type': 'application/json' } : {}),
    };
  }

  private keepCookie(res: Response): void {
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0]!;
  }

  async send(
    text: string,
    clientId: string = randomUUID().replaceAll('-', ''),
    images?: readonly { name: string; type: string; data: Buffer }[],
  ) {
    const body = JSON.stringify({
      text,
      clientId,
      // As the page sends a picture chosen in its file input: base64 with its name and type.
      ...(images
        ? { images: images.map((i) => ({ name: i.name, type: i.type, data: i.data.toString('base64') })) }
        : {}),
    });
    // As the page does (adapters/web/public/app.js): a 503 with Retry-After is sent again after
    // the wait it asks for, growing, a few times; the clientId makes a repeat the same message.
    let res: Response;
    for (let attempt = 0; ; attempt++) {
      res = await fetch(`${this.baseUrl}/api/web/messages`, {
        method: 'POST',
        headers: this.headers(true),
        body,
      });
      const retryAfterS = Number(res.headers.get('retry-after'));
      if (res.status !== 503 || !(retryAfterS > 0) || attempt >= PAGE_RESENDS) break;
      await res.arrayBuffer();
      await sleep(Math.min(30, retryAfterS * 2 ** attempt) * 1000);
    }
    type Answer = {
      message: WebMessage;
      replies: WebMessage[];
      spawn?: { sessionId: string; buildId: string; iteration: number; duplicate: boolean };
      queued?: boolean;
      error?: { code: string; message: string };
    };
    const answer = (await res.json()) as Answer;
    if (res.status !== 202 || !answer.queued) return { status: res.status, ...answer };
    // Queued and not answered yet (a slow worker): the answer comes when the worker has it.
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const asked = Date.now();
      const later = await fetch(`${this.baseUrl}/api/web/messages/${clientId}/answer`, {
        headers: this.headers(),
      });
      if (later.status === 200) {
        const answer = (await later.json()) as Answer;
        return { status: answer.spawn && !answer.spawn.duplicate ? 202 : 200, ...answer, queued: true };
      }
      // The route waits for the answer before its 204, unless the job is between attempts (it
      // failed once and is retried): then it answers at once, and asking again at once would
      // spend the address's rate limit, as a page never does.
      if (Date.now() - asked < 1000) await new Promise((r) => setTimeout(r, 250));
    }
    return { status: res.status, ...answer };
  }

  async act(action: string, sessionId: string, version?: number) {
    const res = await fetch(`${this.baseUrl}/api/web/actions`, {
      method: 'POST',
      headers: this.headers(true),
      body: JSON.stringify({
        action,
        sessionId,
        clientId: randomUUID().replaceAll('-', ''),
        ...(version === undefined ? {} : { version }),
      }),
    });
    return {
      status: res.status,
      ...((await res.json()) as { replies?: WebMessage[]; error?: { code: string } }),
    };
  }

  async history(): Promise<WebMessage[]> {
    const res = await fetch(`${this.baseUrl}/api/web/messages`, { headers: this.headers() });
    return ((await res.json()) as { messages: WebMessage[] }).messages;
  }

  /** The bot's messages about one session, oldest first. */
  async cards(sessionId: string): Promise<WebMessage[]> {
    return (await this.history()).filter((m) => m.role === 'bot' && m.view.sessionId === sessionId);
  }

  raw(path: string, init: RequestInit = {}) {
    return fetch(`${this.baseUrl}${path}`, {
      ...init,
      headers: { ...this.headers(), ...(init.headers ?? {}) },
    });
  }
}
