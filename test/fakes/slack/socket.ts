import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { HeldConnections } from '../held-connections.js';

export interface SocketAck {
  readonly envelope_id: string;
  readonly payload?: Record<string, unknown>;
}

/**
 * Slack's Socket Mode server: `apps.connections.open` hands out a one-time `ws://` URL; on
 * connect the server says `hello`, then sends envelopes (`events_api`, `slash_commands`,
 * `interactive`) that the client acknowledges with `{envelope_id, payload?}`.
 */
export class FakeSocketMode {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly acks = new Map<string, (ack: SocketAck) => void>();
  readonly clients = new Set<WebSocket>();
  /** While true Slack's socket servers cannot be reached: every upgrade has its connection reset. */
  unreachable = false;
  /** Upgrades refused while unreachable (epoch ms). */
  readonly refused: number[] = [];
  /**
   * While true the socket is accepted but `hello` never comes (an overloaded or broken edge).
   * Slack sends `hello` once the connection is ready to receive events
   * (https://docs.slack.dev/apis/events-api/using-socket-mode/), and the SDK's `start` waits for it.
   */
  silent = false;
  /** Connections accepted while silent. */
  readonly hung = new HeldConnections<WebSocket>();

  urlFor(base: string): string {
    const ticket = randomBytes(8).toString('hex');
    this.tickets.add(ticket);
    return `${base.replace(/^http/, 'ws')}/link/?ticket=${ticket}`;
  }

  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const ticket = url.searchParams.get('ticket') ?? '';
      if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
        socket.destroy();
        return;
      }
      if (this.unreachable) {
        this.refused.push(Date.now());
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (this.silent) {
          ws.on('close', this.hung.hold(ws));
          return;
        }
        this.clients.add(ws);
        ws.on('close', () => this.clients.delete(ws));
        ws.on('message', (data) => {
          const ack = JSON.parse(String(data)) as SocketAck;
          this.acks.get(ack.envelope_id)?.(ack);
          this.acks.delete(ack.envelope_id);
        });
        ws.send(
          JSON.stringify({
            type: 'hello',
            num_connections: this.clients.size,
            debug_info: { host: 'fake-slack', approximate_connection_time: 18060 },
            connection_info: { app_id: 'A0SPAWNAI' },
          }),
        );
      });
    });
  }

  /** Resolves once a client is connected. */
  async connected(timeoutMs = 5000): Promise<void> {
    const started = Date.now();
    while (this.clients.size === 0) {
      if (Date.now() - started > timeoutMs) throw new Error('no socket mode client connected');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends one envelope to the connected client and resolves with its acknowledgement. */
  send(
    type: 'events_api' | 'slash_commands' | 'interactive',
    payload: Record<string, unknown>,
    timeoutMs = 3000,
  ): Promise<SocketAck> {
    const [client] = this.clients;
    if (!client) return Promise.reject(new Error('no socket mode client'));
    const envelopeId = randomUUID();
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('envelope not acknowledged in time')), timeoutMs);
      this.acks.set(envelopeId, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
      client.send(
        JSON.stringify({
          envelope_id: envelopeId,
          type,
          payload,
          accepts_response_payload: type !== 'events_api',
          ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
        }),
      );
    });
  }

  /** Every connected client loses its socket at once (a network cut, not a `disconnect` message). */
  dropAll(): void {
    for (const c of this.clients) c.terminate();
  }

  async close(): Promise<void> {
    for (const c of [...this.clients, ...this.hung.open]) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}
