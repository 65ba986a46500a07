import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../log.js';

/** Headers that describe one connection, not the message: never passed on (RFC 9110, 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** An app's label in the host name: a DNS label, as session ids are. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export interface PreviewProxyOptions {
  /** Interface to listen on. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Apps are `<label>.<domain>`: `localhost` gives `http://<app>.localhost:<port>/`. */
  readonly domain: string;
  /** The Unix socket that reaches the app of `label`, or undefined when there is no such app. */
  readonly socketOf: (label: string) => string | undefined;
  readonly logger: Logger;
}

export interface PreviewProxy {
  /** The port it listens on. */
  readonly port: number;
  close(): Promise<void>;
}

/** The app label a Host header names under `domain` (`k7fq2m.localhost:3001` -> `k7fq2m`), if any. */
export function appLabelOf(hostHeader: string | undefined, domain: string): string | undefined {
  if (!hostHeader) return undefined;
  const host = hostHeader.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const suffix = `.${domain.toLowerCase()}`;
  if (!host.endsWith(suffix)) return undefined;
  const label = host.slice(0, -suffix.length);
  return LABEL.test(label) ? label : undefined;
}

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const tokens = (Array.isArray(value) ? value.join(',') : (value ?? '')).split(',');
  return new Set(tokens.map((t) => t.trim().toLowerCase()).filter(Boolean));
}

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function forwarded(req: IncomingMessage): Record<string, string | string[]> {
  const headers = endToEnd(req.headers);
  const previous = req.headers['x-forwarded-for'];
  const client = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = previous ? `${previous}, ${client}` : client;
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>\n`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const NO_APP = [
  'No app here',
  'No app runs at this address. It may have ended; ask for a new one in the chat.',
] as const;
const NOT_ANSWERING = [
  'The app is not answering',
  'The app at this address is not running right now: it may be starting, or it stopped. The chat says which.',
] as const;

/**
 * The one door to every local app: an HTTP reverse proxy on one port that sends
 * `<app>.<domain>` to that app's Unix socket. Previews never share a host with the chat or
 * the admin page, so the browser keeps their cookies apart. WebSocket upgrades pass through.
 */
export async function startPreviewProxy(options: PreviewProxyOptions): Promise<PreviewProxy> {
  const log = options.logger.child({ module: 'preview-proxy' });
  const socketFor = (req: IncomingMessage): string | undefined => {
    const label = appLabelOf(req.headers.host, options.domain);
    return label ? options.socketOf(label) : undefined;
  };

  const server = http.createServer((req, res) => {
    const socketPath = socketFor(req);
    if (!socketPath) {
      req.resume();
      page(res, 404, ...NO_APP);
      return;
    }
    const upstream = http.request(
      { socketPath, method: req.method, path: req.url, headers: forwarded(req), agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => page(res, 502, ...NOT_ANSWERING));
    req.pipe(upstream);
    res.on('close', () => upstream.destroy());
  });

  server.on('upgrade', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const socketPath = socketFor(req);
    if (!socketPath) {
      client.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect(socketPath);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.once('connect', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      if (client.writable)
        client.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      close();
    });
    client.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  server.on('clientError', (_e, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info({ host: options.host, port, domain: options.domain }, 'preview proxy listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
