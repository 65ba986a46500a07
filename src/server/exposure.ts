import { isIP } from 'node:net';
import type { Config } from '../config/index.js';

/** Whether `host` (an interface to listen on) is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * What to tell the operator when the web chat listens beyond this machine: it has no login
 * (each visitor gets an identity of their own), so whoever reaches it can have code built and
 * run here. Undefined when HOST keeps it on the loopback.
 */
export function exposureNotice(config: Pick<Config, 'HOST' | 'PORT'>): string | undefined {
  if (isLoopbackHost(config.HOST)) return undefined;
  return (
    `The web chat listens on ${config.HOST}:${config.PORT}, so other machines can reach it, and it asks nobody to ` +
    'log in: anyone who reaches it can have code built and run on this machine. Set HOST=127.0.0.1 to keep ' +
    'it to this machine, or put it behind a proxy that asks for a login.'
  );
}
