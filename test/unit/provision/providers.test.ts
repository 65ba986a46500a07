import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { SpawnError, StartupError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { createProviders, defaultProvider } from '../../../src/provision/index.js';
import { chooseAvailableProvider, type GuardedProvider } from '../../../src/provision/resilience/guarded.js';
import type { Provider, ProviderName } from '../../../src/provision/types.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'spawnai-providers-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const RAILWAY = { RAILWAY_API_TOKEN: 't', RAILWAY_PROJECT_ID: 'p', RAILWAY_ENVIRONMENT_ID: 'e' };
const RENDER = { RENDER_API_KEY: 'k', RENDER_OWNER_ID: 'tea-1' };
const SUPABASE = { SUPABASE_URL: 'http://127.0.0.1:1', SUPABASE_SERVICE_ROLE_KEY: 's' };

function config(env: Record<string, string>) {
  return loadConfig({ DATA_DIR: dataDir, ...env });
}

describe('createProviders and defaultProvider', () => {
  it('local only on a fresh machine', () => {
    const c = config({});
    expect([...createProviders(c, silentLogger()).keys()]).toEqual(['local']);
    expect(defaultProvider(c)).toBe('local');
  });

  it('adds Railway and Render when configured; the default is PROVIDER, else Railway, else Render', () => {
    const both = config({ ...RAILWAY, ...RENDER, ...SUPABASE });
    expect([...createProviders(both, silentLogger()).keys()]).toEqual(['local', 'railway', 'render']);
    expect(defaultProvider(both)).toBe('railway');
    expect(defaultProvider(config({ ...RENDER, ...SUPABASE }))).toBe('render');
    expect(defaultProvider(config({ ...RAILWAY, ...RENDER, ...SUPABASE, PROVIDER: 'render' }))).toBe(
      'render',
    );
    expect(defaultProvider(config({ ...RAILWAY, ...SUPABASE, PROVIDER: 'local' }))).toBe('local');
  });

  it('names the other cloud provider as fallback only with PROVIDER_FALLBACK', () => {
    const off = createProviders(config({ ...RAILWAY, ...RENDER, ...SUPABASE }), silentLogger());
    expect((off.get('railway') as GuardedProvider).fallback).toBeUndefined();
    const on = createProviders(
      config({ ...RAILWAY, ...RENDER, ...SUPABASE, PROVIDER_FALLBACK: 'true' }),
      silentLogger(),
    );
    expect((on.get('railway') as GuardedProvider).fallback).toBe('render');
    expect((on.get('render') as GuardedProvider).fallback).toBe('railway');
  });

  it('refuses a cloud provider without Supabase Storage (it could not download the bundles)', () => {
    expect(() => createProviders(config(RAILWAY), silentLogger())).toThrow(StartupError);
    expect(() => createProviders(config(RENDER), silentLogger())).toThrow(
      /RENDER_API_KEY: Render downloads each app from a signed URL; set SUPABASE_URL/,
    );
    expect(() => config({ ...RAILWAY, PROVIDER: 'railway' })).toThrow(
      'PROVIDER=railway needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY',
    );
  });
});

function stubProvider(name: ProviderName, refusal?: SpawnError, fallback?: ProviderName): GuardedProvider {
  const none = async () => {
    throw new Error('not used');
  };
  return {
    name,
    label: name[0]!.toUpperCase() + name.slice(1),
    ...(fallback ? { fallback } : {}),
    refusal: async () => refusal,
    deploy: none,
    status: none,
    destroy: none,
    list: none,
  };
}

describe('chooseAvailableProvider', () => {
  const down = new SpawnError('ERR_PROVIDER_UNAVAILABLE', 'open', {
    userMessage: 'Railway is unavailable right now; please try again in a few minutes.',
  });

  it('keeps a provider that accepts', async () => {
    const railway = stubProvider('railway', undefined, 'render');
    const providers = new Map<ProviderName, Provider>([['railway', railway]]);
    expect(await chooseAvailableProvider(providers, railway, 's1', { canSwitch: true })).toEqual({
      provider: railway,
    });
  });

  it('moves a new session to the fallback, saying why', async () => {
    const railway = stubProvider('railway', down, 'render');
    const render = stubProvider('render');
    const providers = new Map<ProviderName, Provider>([
      ['railway', railway],
      ['render', render],
    ]);
    const choice = await chooseAvailableProvider(providers, railway, 's1', { canSwitch: true });
    expect(choice.provider).toBe(render);
    expect(choice.switched).toEqual({
      from: 'railway',
      to: 'render',
      reason: 'Railway is unavailable right now',
      notice: 'Railway is unavailable right now; running it on Render instead',
    });
  });

  it('fails fast with the refusal when it may not move, has no fallback, or the fallback refuses too', async () => {
    const railway = stubProvider('railway', down, 'render');
    const render = stubProvider('render');
    const providers = new Map<ProviderName, Provider>([
      ['railway', railway],
      ['render', render],
    ]);
    await expect(chooseAvailableProvider(providers, railway, 's', { canSwitch: false })).rejects.toBe(down);
    await expect(
      chooseAvailableProvider(providers, railway, 's', { canSwitch: true, allowed: (n) => n !== 'render' }),
    ).rejects.toBe(down);
    const lonely = stubProvider('railway', down);
    await expect(chooseAvailableProvider(providers, lonely, 's', { canSwitch: true })).rejects.toBe(down);
    const quota = new SpawnError(
      'ERR_PROVIDER_QUOTA',
      'Render allows 20 new apps per hour; try again in 5 minutes.',
    );
    const both = new Map<ProviderName, Provider>([
      ['railway', railway],
      ['render', stubProvider('render', quota)],
    ]);
    await expect(chooseAvailableProvider(both, railway, 's', { canSwitch: true })).rejects.toBe(down);
  });
});
