import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_HANDLED_EVENTS } from '../../../src/billing/stripe-event.js';
import { loadConfig } from '../../../src/config/index.js';
import { runDoctor } from '../../../src/doctor/index.js';
import { FakeRailway } from '../../fakes/railway/server.js';
import { FakeRender } from '../../fakes/render/server.js';
import { FakeStripe } from '../../fakes/stripe/server.js';
import { TEST_REDIS_URL } from '../../helpers/env.js';
import { copyPgliteTemplate } from '../../helpers/pglite-template.js';
import { PRICES, STRIPE_SECRET, WEBHOOK_SECRET } from '../../helpers/stripe.js';

/** `spawnai doctor` against the Railway, Render and Stripe fakes: what an operator must fix, by name. */
const RAILWAY = { token: 'railway-account-token', projectId: 'proj-doc', environmentId: 'env-doc' };
const PROJECT_TOKEN = 'railway-project-token-doc';
const PUBLIC_URL = 'https://spawn.example.com';

let dataDir: string;
let railway: FakeRailway;
let render: FakeRender;
let stripe: FakeStripe;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'spawnai-doctor-'));
  // A migrated database to check, without an initdb in the first test.
  await copyPgliteTemplate(path.join(dataDir, 'db'));
  railway = await new FakeRailway({ ...RAILWAY, projectToken: PROJECT_TOKEN }).start();
  render = await new FakeRender({ apiKey: 'rnd_doctor_key', ownerId: 'tea-doc' }).start();
  stripe = await new FakeStripe(STRIPE_SECRET, PRICES).start();
});
afterAll(async () => {
  await railway?.stop();
  await render?.stop();
  await stripe?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function line(name: string, env: Record<string, string>): Promise<{ state: string; detail: string }> {
  // Only the named check: the database, Redis and sandbox lines are doctor.test.ts's.
  const results = await runDoctor(
    loadConfig({ DATA_DIR: dataDir, REDIS_URL: TEST_REDIS_URL, ...env }),
    fetch,
    [name],
  );
  return results.find((r) => r.name === name)!;
}

const railwayEnv = (extra: Record<string, string> = {}) => ({
  RAILWAY_API_TOKEN: RAILWAY.token,
  RAILWAY_PROJECT_ID: RAILWAY.projectId,
  RAILWAY_ENVIRONMENT_ID: RAILWAY.environmentId,
  RAILWAY_API_URL: railway.url,
  ...extra,
});

describe('doctor: Railway', () => {
  it('accepts an account token that reaches the environment, and says the image must be public', async () => {
    const r = await line('railway', railwayEnv());
    expect(r.state).toBe('ok');
    expect(r.detail).toContain('account token accepted');
    expect(r.detail).toContain('ghcr.io/spawnai/runtime:1 must be public (no registry credentials set)');
  });

  it('takes a project token as such, checks it belongs to the configured environment, and names the fix', async () => {
    const ok = await line(
      'railway',
      railwayEnv({ RAILWAY_API_TOKEN: PROJECT_TOKEN, RAILWAY_TOKEN_TYPE: 'project' }),
    );
    expect(ok.state).toBe('ok');
    const asAccount = await line('railway', railwayEnv({ RAILWAY_API_TOKEN: PROJECT_TOKEN }));
    expect(asAccount.state).toBe('rejected');
    expect(asAccount.detail).toContain('set RAILWAY_TOKEN_TYPE=project');
    expect(asAccount.detail).not.toContain(PROJECT_TOKEN);
    const elsewhere = await line(
      'railway',
      railwayEnv({
        RAILWAY_API_TOKEN: PROJECT_TOKEN,
        RAILWAY_TOKEN_TYPE: 'project',
        RAILWAY_ENVIRONMENT_ID: 'env-other',
      }),
    );
    expect(elsewhere.state).toBe('incomplete');
    expect(elsewhere.detail).toContain(
      'the project token belongs to project proj-doc, environment env-doc: set RAILWAY_PROJECT_ID and RAILWAY_ENVIRONMENT_ID',
    );
  });

  it('names registry credentials when they are set', async () => {
    const r = await line(
      'railway',
      railwayEnv({
        RUNTIME_IMAGE_REGISTRY_USERNAME: 'bot',
        RUNTIME_IMAGE_REGISTRY_PASSWORD: 'ghp_doctor_secret',
      }),
    );
    expect(r.state).toBe('ok');
    expect(r.detail).toContain('pulled with RUNTIME_IMAGE_REGISTRY_USERNAME');
    expect(r.detail).not.toContain('ghp_doctor_secret');
  });
});

describe('doctor: Render', () => {
  const renderEnv = (extra: Record<string, string> = {}) => ({
    RENDER_API_KEY: 'rnd_doctor_key',
    RENDER_OWNER_ID: 'tea-doc',
    RENDER_API_URL: render.url,
    ...extra,
  });

  it('checks the registry credential exists, or says the image must be public', async () => {
    expect((await line('render', renderEnv())).detail).toContain('must be public');
    const id = render.addRegistryCredential({ username: 'bot', authToken: 'ghp_x' });
    const ok = await line('render', renderEnv({ RENDER_REGISTRY_CREDENTIAL_ID: id }));
    expect(ok.state).toBe('ok');
    expect(ok.detail).toContain(`pulled with registry credential ${id}`);
    const unknown = await line('render', renderEnv({ RENDER_REGISTRY_CREDENTIAL_ID: 'rgc-nope' }));
    expect(unknown.state).toBe('incomplete');
    expect(unknown.detail).toContain('RENDER_REGISTRY_CREDENTIAL_ID names no registry credential');
  });
});

describe('doctor: Stripe webhook endpoint', () => {
  const env = () => ({
    STRIPE_SECRET_KEY: STRIPE_SECRET,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: stripe.url,
    PUBLIC_URL,
  });
  const url = `${PUBLIC_URL}/stripe/webhook`;

  it('names the endpoint that is missing, versionless, too old or short of events, and passes a good one', async () => {
    stripe.webhookEndpoints.length = 0;
    const none = await line('stripe', env());
    expect(none.state).toBe('incomplete');
    expect(none.detail).toContain(
      `no enabled webhook endpoint for ${url}: add one with API version 2025-03-31`,
    );

    const versionless = stripe.addWebhookEndpoint(url, [...STRIPE_HANDLED_EVENTS], null);
    expect((await line('stripe', env())).detail).toContain(
      `webhook endpoint ${versionless.id} uses the account's default API version`,
    );
    versionless.status = 'disabled';

    const old = stripe.addWebhookEndpoint(url, [...STRIPE_HANDLED_EVENTS], '2024-06-20.acacia');
    const tooOld = await line('stripe', env());
    expect(tooOld.state).toBe('incomplete');
    expect(tooOld.detail).toContain(
      'renders events at API version 2024-06-20.acacia; SpawnAI reads 2025-03-31',
    );
    old.status = 'disabled';

    const short = stripe.addWebhookEndpoint(url, ['checkout.session.completed'], '2026-10-28.endive');
    expect((await line('stripe', env())).detail).toContain(
      'does not send checkout.session.async_payment_succeeded',
    );
    short.status = 'disabled';

    stripe.addWebhookEndpoint(url, [...STRIPE_HANDLED_EVENTS], '2026-10-28.endive');
    const good = await line('stripe', env());
    expect(good.state).toBe('ok');
    expect(good.detail).toContain('at API version 2026-10-28.endive');
  });
});
