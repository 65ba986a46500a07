import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { claimPort, ephemeralRange, freePort, PORT_CLAIM_MS } from '../../../src/util/free-port.js';

const servers: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** The kernel's range, which the tests here need to know (Linux). */
function kernelRange(): readonly [number, number] {
  const range = ephemeralRange();
  if (!range) throw new Error('no ip_local_port_range');
  return range;
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

describe('freePort', () => {
  it('gives a port outside the range the kernel hands to outgoing connections, and never the same twice in a row', async () => {
    const [low, high] = kernelRange();
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) expect(port < low || port > high, `${port} in ${low}-${high}`).toBe(true);
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) servers.push(await listen(port));
  });

  it('passes over a port something already listens on', async () => {
    const first = await freePort();
    servers.push(await listen(first + 1));
    const next = await freePort();
    expect(next).not.toBe(first + 1);
    servers.push(await listen(next));
  });

  it('does not hand out a port another process was just given, though nothing listens on it yet', async () => {
    const given = await freePort();
    // A second process (a fresh copy of the module) whose walk through the band starts right
    // before that port: the probe alone finds it free, as it did for two test processes in CI.
    const [low] = kernelRange();
    // The band below the kernel's range (its lowest port is LOWEST in free-port.ts).
    const bandLow = 10_000;
    const size = low - 1 - bandLow + 1;
    vi.spyOn(Math, 'random').mockReturnValue((given - 1 - bandLow + 0.5) / size);
    // Its own instance of the module (a query makes it another module), not this file's.
    const another = '../../../src/util/free-port.js?another-process';
    const other = (await import(another)) as typeof import('../../../src/util/free-port.js');
    vi.restoreAllMocks();
    const next = await other.freePort();
    expect(next).not.toBe(given);
    servers.push(await listen(given), await listen(next));
  });
});

describe('claimPort', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const claims = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'port-claims-'));
    dirs.push(dir);
    return dir;
  };

  it('refuses a port claimed less than PORT_CLAIM_MS ago, and takes over an older claim', () => {
    const dir = claims();
    const now = Date.now();
    expect(claimPort(41_000, dir, now)).toBe(true);
    expect(claimPort(41_000, dir, now + 1_000)).toBe(false);
    expect(claimPort(41_000, dir, now + PORT_CLAIM_MS + 1_000)).toBe(true);
    // Taken over: the claim is young again.
    expect(claimPort(41_000, dir, Date.now() + 1_000)).toBe(false);
  });

  it('takes a port whose claim file is old, as after a crash', () => {
    const dir = claims();
    writeFileSync(path.join(dir, '41001'), '12345');
    const past = new Date(Date.now() - PORT_CLAIM_MS - 5_000);
    utimesSync(path.join(dir, '41001'), past, past);
    expect(claimPort(41_001, dir)).toBe(true);
  });

  it('leaves the choice to the probe where claims cannot be written', () => {
    const dir = claims();
    const notADir = path.join(dir, 'file');
    writeFileSync(notADir, '');
    expect(claimPort(41_002, notADir)).toBe(true);
  });
});
