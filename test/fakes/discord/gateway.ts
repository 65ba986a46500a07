import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { HeldConnections } from '../held-connections.js';

/** Intent bits (Discord's `intents` in IDENTIFY). */
export const INTENTS = {
  guilds: 1 << 0,
  guildMessages: 1 << 9,
  directMessages: 1 << 12,
  messageContent: 1 << 15,
} as const;

const OP = {
  dispatch: 0,
  heartbeat: 1,
  identify: 2,
  resume: 6,
  reconnect: 7,
  invalidSession: 9,
  hello: 10,
  heartbeatAck: 11,
} as const;

interface Dispatched {
  s: number;
  t: string;
  d: unknown;
}

/** A gateway session: survives its socket, so a client can RESUME and get what it missed. */
export interface GatewaySession {
  readonly id: string;
  readonly intents: number;
  seq: number;
  socket: WebSocket | undefined;
  /** Every dispatch, for replay on RESUME. */
  readonly sent: Dispatched[];
  /** Highest sequence the client acknowledged in a heartbeat or RESUME. */
  acked: number;
}

/** What the gateway needs from the rest of the fake to describe the world. */
export interface GatewayWorld {
  readonly botToken: string;
  readonly botUser: object;
  readonly applicationId: string;
  guildIds(): string[];
  guildCreate(guildId: string): Record<string, unknown>;
}

export interface FakeGatewayOptions {
  /** HELLO's heartbeat interval; short keeps tests quick. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** Whether the application may use the privileged MESSAGE_CONTENT intent (else close 4014). */
  messageContentAllowed?: boolean;
}

/**
 * Discord's gateway over plain JSON text frames (what discord.js speaks without zlib-sync):
 * HELLO, IDENTIFY → READY + GUILD_CREATE (with channels), heartbeats, dispatches with an
 * increasing `s`, RESUME with replay of what the client missed, INVALID_SESSION and closes.
 */
export class FakeGateway {
  readonly sessions = new Map<string, GatewaySession>();
  readonly stats = { connections: 0, identifies: 0, resumes: 0, heartbeats: 0, failedResumes: 0 };
  /** On RESUME, also re-send this many events the client already had (at-least-once delivery). */
  replayOverlap = 0;
  /**
   * While true the gateway is unreachable: every WebSocket upgrade has its TCP connection reset,
   * as when gateway.discord.gg cannot be reached (an outage, a firewall); REST keeps answering.
   */
  unreachable = false;
  /** WebSocket upgrades refused while unreachable, with when they came (epoch ms). */
  readonly refused: number[] = [];
  /**
   * While true the gateway accepts the WebSocket and then says nothing: the first thing Discord
   * sends on a new connection is Hello (opcode 10, with `heartbeat_interval`;
   * https://discord.com/developers/docs/events/gateway#hello-event), and without it a client
   * cannot identify: the connection hangs.
   */
  silent = false;
  /** Connections accepted while silent. */
  readonly hung = new HeldConnections<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly heartbeatIntervalMs: number;
  private readonly messageContentAllowed: boolean;

  constructor(
    private readonly world: GatewayWorld,
    private readonly urlOf: () => string,
    options: FakeGatewayOptions = {},
  ) {
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    this.messageContentAllowed = options.messageContentAllowed ?? true;
  }

  get url(): string {
    return `${this.urlOf().replace(/^http/, 'ws')}/gateway`;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/gateway') {
      socket.destroy();
      return;
    }
    if (this.unreachable) {
      this.refused.push(Date.now());
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private send(ws: WebSocket, payload: Record<string, unknown>): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  }

  private onConnection(ws: WebSocket): void {
    this.stats.connections++;
    if (this.silent) {
      ws.on('close', this.hung.hold(ws));
      return;
    }
    let session: GatewaySession | undefined;
    this.send(ws, { op: OP.hello, d: { heartbeat_interval: this.heartbeatIntervalMs }, s: null, t: null });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      let payload: { op?: number; d?: unknown };
      try {
        payload = JSON.parse(data.toString()) as { op?: number; d?: unknown };
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      switch (payload.op) {
        case OP.heartbeat:
          this.stats.heartbeats++;
          if (session && typeof payload.d === 'number') session.acked = Math.max(session.acked, payload.d);
          this.send(ws, { op: OP.heartbeatAck });
          return;
        case OP.identify:
          session = this.identify(ws, payload.d as Record<string, unknown>);
          return;
        case OP.resume:
          session = this.resume(ws, payload.d as Record<string, unknown>);
          return;
        default:
          if (!session) ws.close(4003, 'Not authenticated.');
          else ws.close(4001, 'Unknown opcode.');
      }
    });
    ws.on('close', () => {
      if (session?.socket === ws) session.socket = undefined;
    });
  }

  private identify(ws: WebSocket, d: Record<string, unknown>): GatewaySession | undefined {
    this.stats.identifies++;
    if (d.token !== this.world.botToken) {
      ws.close(4004, 'Authentication failed.');
      return undefined;
    }
    const intents = typeof d.intents === 'number' ? d.intents : 0;
    if (intents & INTENTS.messageContent && !this.messageContentAllowed) {
      ws.close(4014, 'Disallowed intent(s).');
      return undefined;
    }
    const session: GatewaySession = {
      id: randomBytes(16).toString('hex'),
      intents,
      seq: 0,
      socket: ws,
      sent: [],
      acked: 0,
    };
    this.sessions.set(session.id, session);
    const guilds = this.world.guildIds();
    this.emit(session, 'READY', {
      v: 10,
      user: this.world.botUser,
      guilds: guilds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.url,
      shard: [0, 1],
      application: { id: this.world.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
    });
    // Promptly, or discord.js holds READY back until waitGuildTimeout.
    for (const id of guilds) this.emit(session, 'GUILD_CREATE', this.world.guildCreate(id));
    return session;
  }

  private resume(ws: WebSocket, d: Record<string, unknown>): GatewaySession | undefined {
    const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    if (!session || d.token !== this.world.botToken || typeof d.seq !== 'number') {
      this.stats.failedResumes++;
      this.send(ws, { op: OP.invalidSession, d: false });
      return undefined;
    }
    this.stats.resumes++;
    session.socket?.terminate();
    session.socket = ws;
    const from = Math.max(0, d.seq - this.replayOverlap);
    for (const event of session.sent.filter((e) => e.s > from)) {
      this.send(ws, { op: OP.dispatch, s: event.s, t: event.t, d: event.d });
    }
    this.emit(session, 'RESUMED', {});
    return session;
  }

  private emit(session: GatewaySession, t: string, d: unknown): void {
    const event = { s: ++session.seq, t, d };
    session.sent.push(event);
    if (session.sent.length > 5000) session.sent.shift();
    // A closed socket keeps the event for a RESUME, as Discord does for a while.
    if (session.socket) this.send(session.socket, { op: OP.dispatch, ...event });
  }

  /** Sends an event to every session whose intents ask for it. */
  dispatch(t: string, d: unknown, intent: number): void {
    for (const session of this.sessions.values()) {
      if (session.intents & intent) this.emit(session, t, d);
    }
  }

  /** Closes every socket with `code` (4000 → the client resumes; 1000 → it identifies anew). */
  closeAll(code = 4000, reason = 'Unknown error.'): void {
    for (const session of this.sessions.values()) session.socket?.close(code, reason);
  }

  /** INVALID_SESSION (not resumable): the client must identify a new session. */
  invalidateSessions(): void {
    for (const session of this.sessions.values()) {
      const ws = session.socket;
      this.sessions.delete(session.id);
      if (ws) this.send(ws, { op: OP.invalidSession, d: false });
    }
  }

  /** Sessions with an open socket. */
  connected(): GatewaySession[] {
    return [...this.sessions.values()].filter((s) => s.socket?.readyState === WebSocket.OPEN);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
