import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderEnvExample } from '../../../scripts/env-example.js';
import { ConfigError, loadConfig, SECRET_VARS, VARS } from '../../../src/config/index.js';

describe('config', () => {
  it('runs on embedded defaults with an empty environment', () => {
    const c = loadConfig({}, '/srv/app');
    expect(c.PORT).toBe(3000);
    expect(c.PUBLIC_URL).toBe('http://localhost:3000');
    expect(c.DATA_DIR).toBe('/srv/app/.spawnai');
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.REDIS_URL_SET).toBe(false);
    expect(c.ANTHROPIC_BASE_URL).toBe('https://api.anthropic.com');
    // On this machine only, and previews on a port and host names of their own.
    expect(c.HOST).toBe('127.0.0.1');
    expect(c.PREVIEW_PORT).toBe(3001);
    expect(c.LOCAL_PREVIEW_HOST).toBe('localhost');
    expect(c.LOCAL_RUN_CLAUDE_APPS_WITHOUT_SANDBOX).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses a preview host that cannot carry a name per app, and a preview port that is the chat’s', () => {
    expect(() => loadConfig({ LOCAL_PREVIEW_HOST: '127.0.0.1' })).toThrow(
      'LOCAL_PREVIEW_HOST must be a domain name such as localhost',
    );
    expect(() => loadConfig({ PORT: '4000', PREVIEW_PORT: '4000' })).toThrow(
      'PREVIEW_PORT must differ from PORT',
    );
    expect(loadConfig({ LOCAL_PREVIEW_HOST: 'preview.example.com', PREVIEW_PORT: '0' }).PREVIEW_PORT).toBe(0);
  });

  it('treats empty strings as unset and trims values', () => {
    const c = loadConfig({ PORT: ' 4000 ', DATABASE_URL: '', REDIS_URL: '  ' });
    expect(c.PORT).toBe(4000);
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL_SET).toBe(false);
  });

  it('derives PUBLIC_URL from PORT and strips a trailing slash', () => {
    expect(loadConfig({ PORT: '8080' }).PUBLIC_URL).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://spawn.example.com/' }).PUBLIC_URL).toBe(
      'https://spawn.example.com',
    );
  });

  it('names each bad variable and what it expects, without echoing values', () => {
    const secret = 'postgres-password-that-must-not-leak';
    let error: unknown;
    try {
      loadConfig({
        DATABASE_URL: `not-a-url-${secret}`,
        PORT: 'http',
        TELEGRAM_WEBHOOK_SECRET: 'has spaces!',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'PORT must be an integer from 1 to 65535',
      'DATABASE_URL must be a URL starting with postgres:// or postgresql://',
      'TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -',
    ]);
    expect((error as Error).message).not.toContain(secret);
  });

  it('refuses integrations configured by halves', () => {
    expect(() => loadConfig({ SLACK_CLIENT_ID: '123' })).toThrow(
      'SLACK_CLIENT_SECRET must be set together with SLACK_CLIENT_ID',
    );
    expect(() => loadConfig({ PROVIDER: 'render' })).toThrow('PROVIDER=render needs RENDER_API_KEY');
  });

  it('keeps the names DESIGN.md fixes', () => {
    for (const name of [
      'PORT',
      'PUBLIC_URL',
      'DATA_DIR',
      'LOG_LEVEL',
      'ADMIN_TOKEN',
      'DATABASE_URL',
      'REDIS_URL',
      'ANTHROPIC_API_KEY',
      'ANTHROPIC_BASE_URL',
      'ANTHROPIC_MODEL',
      'SLACK_SIGNING_SECRET',
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN',
      'SLACK_CLIENT_ID',
      'SLACK_CLIENT_SECRET',
      'SLACK_API_URL',
      'DISCORD_BOT_TOKEN',
      'DISCORD_APPLICATION_ID',
      'DISCORD_PUBLIC_KEY',
      'DISCORD_API_URL',
      'TELEGRAM_BOT_TOKEN',
      'TELEGRAM_WEBHOOK_SECRET',
      'TELEGRAM_API_ROOT',
      'STRIPE_SECRET_KEY',
      'STRIPE_WEBHOOK_SECRET',
      'STRIPE_API_URL',
      'RAILWAY_API_TOKEN',
      'RAILWAY_PROJECT_ID',
      'RAILWAY_ENVIRONMENT_ID',
      'RAILWAY_API_URL',
      'RENDER_API_KEY',
      'RENDER_OWNER_ID',
      'RENDER_API_URL',
      'SUPABASE_URL',
      'SUPABASE_SERVICE_ROLE_KEY',
      'SUPABASE_BUCKET',
      'RUNTIME_IMAGE',
    ]) {
      expect(VARS, name).toHaveProperty(name);
    }
    expect(SECRET_VARS).toContain('STRIPE_SECRET_KEY');
    expect(SECRET_VARS).not.toContain('PORT');
  });

  it('.env.example lists every variable and is up to date (npm run env:example)', () => {
    const file = readFileSync(path.join(import.meta.dirname, '..', '..', '..', '.env.example'), 'utf8');
    expect(file).toBe(renderEnvExample());
    for (const name of Object.keys(VARS)) expect(file).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});

describe('README configuration table', () => {
  it('is up to date with the schema (npm run docs:config)', async () => {
    const { withConfigTable } = await import('../../../scripts/readme-config.js');
    const readme = readFileSync(path.join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
    expect(readme).toBe(withConfigTable(readme));
  });
});
