import { FakeStripe } from '../fakes/stripe/server.js';

export const STRIPE_SECRET = 'sk_test_spawnai_fake';
export const WEBHOOK_SECRET = 'whsec_test_spawnai_fake';

export const PRICES = [
  { id: 'price_pro', unitAmount: 900, currency: 'usd', recurring: true },
  { id: 'price_team', unitAmount: 2900, currency: 'usd', recurring: true },
  { id: 'price_extend', unitAmount: 300, currency: 'usd', recurring: false },
  { id: 'price_credits', unitAmount: 500, currency: 'usd', recurring: false },
];

export async function startFakeStripe(): Promise<FakeStripe> {
  return new FakeStripe(STRIPE_SECRET, PRICES).start();
}

/** The environment that turns billing on against the fake. */
export function stripeEnv(fake: FakeStripe): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: STRIPE_SECRET,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: fake.url,
    STRIPE_PRICE_PRO: 'price_pro',
    STRIPE_PRICE_TEAM: 'price_team',
    STRIPE_PRICE_EXTEND: 'price_extend',
    STRIPE_PRICE_CREDITS: 'price_credits',
  };
}
