import Stripe from 'stripe';
import type { Config } from '../config/index.js';

/** Calls to Stripe give up after this long; the SDK's default is 80 s. */
export const STRIPE_TIMEOUT_MS = 15_000;

/** The Stripe SDK pointed at STRIPE_API_URL (a local fake in tests), with bounded retries. */
export function createStripeClient(config: Config): Stripe {
  if (!config.STRIPE_SECRET_KEY) throw new Error('STRIPE_SECRET_KEY is not set');
  const url = new URL(config.STRIPE_API_URL);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(config.STRIPE_SECRET_KEY, {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
    maxNetworkRetries: 2,
    timeout: STRIPE_TIMEOUT_MS,
    telemetry: false,
    appInfo: { name: 'SpawnAI' },
  });
}
