import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The lowest port handed out: below it live well-known services (Postgres, Redis, ...). */
const LOWEST = 10_000;
/** A band narrower than this is not worth using; `listen(0)` it is. */
const SMALLEST_BAND = 1_000;
/** Candidates tried before giving up on the band. */
const CANDIDATES = 64;
/**
 * How long a port handed out stays claimed against other processes: long enough for the server
 * it was asked for to bind it (a sandboxed app starts in seconds); once bound, probing finds it.
 */
export const PORT_CLAIM_MS = 60_000;

/** The kernel's range for ports it picks itself (listen(0), outgoing connections), if known. */
export function ephemeralRange(): readonly [number, number] | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return low && high ? [low, high] : undefined;
  } catch {
    return undefined;
  }
}

/** The widest band of ports the kernel never picks by itself, or undefined when there is none. */
function quietBand(): readonly [number, number] | undefined {
  const range = ephemeralRange();
  if (!range) return undefined;
  const [low, high] = range;
  const below: [number, number] = [LOWEST, low - 1];
  const above: [number, number] = [high + 1, 65_535];
  const best = below[1] - below[0] >= above[1] - above[0] ? below : above;
  return best[1] - best[0] >= SMALLEST_BAND ? best : undefined;
}

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(address && typeof address === 'object' ? address.port : undefined));
    });
  });
}

/** Where processes on this machine leave a file per port they handed out (shared by all of them). */
export function portClaimsDir(): string {
  return path.join(tmpdir(), 'spawnai-ports');
}

/**
 * Claims a port for this process by creating its file, unless another claim is younger than
 * PORT_CLAIM_MS. Probing alone cannot tell two processes apart: each finds the port free, and
 * the second to bind fails with EADDRINUSE (seen in CI: a test app's port, taken a moment
 * earlier by another test process walking the same part of the band). Where the folder cannot
 * be written, the probe alone decides, as before.
 */
export function claimPort(port: number, dir = portClaimsDir(), nowMs = Date.now()): boolean {
  const file = path.join(dir, String(port));
  const create = () => writeFileSync(file, String(process.pid), { flag: 'wx' });
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    return true;
  }
  try {
    create();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return true;
  }
  try {
    if (nowMs - statSync(file).mtimeMs < PORT_CLAIM_MS) return false;
    // Stale: whoever asked for it has bound it by now, or never will.
    unlinkSync(file);
    create();
    return true;
  } catch {
    // Another process replaced the stale claim first.
    return false;
  }
}

const band = quietBand();
/** Where this process looks next: a random start, so processes started together spread out. */
let cursor = band ? band[0] + Math.floor(Math.random() * (band[1] - band[0] + 1)) : 0;

/**
 * A port on 127.0.0.1 that nothing listens on, for a server that binds it a moment later (a
 * child process, an app, a private redis-server). Taken outside the kernel's ephemeral range
 * where there is room: a port from `listen(0)` lies inside it, and before the server binds it
 * the kernel may give it to an outgoing connection, and the server fails with EADDRINUSE (seen
 * with four test workers side by side). Each call moves on, so one process never hands out the
 * same port twice in a row, and claims the port (see claimPort), so another process on the
 * machine does not hand it out too before it is bound.
 */
export async function freePort(): Promise<number> {
  if (band) {
    const size = band[1] - band[0] + 1;
    for (let i = 0; i < CANDIDATES; i++) {
      const port = band[0] + ((cursor - band[0] + 1) % size);
      cursor = port;
      if ((await listenOn(port)) === port && claimPort(port)) return port;
    }
  }
  const port = await listenOn(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}
