import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/util/free-port.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

describe('freePort', () => {
  it('gives a port outside the range the kernel hands to outgoing connections, and never the same twice in a row', async () => {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number) as [number, number];
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
});
