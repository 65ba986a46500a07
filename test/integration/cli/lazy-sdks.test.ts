import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/cli.js';

/**
 * The SDKs of what a process may not use load only where their settings are set (a platform's
 * token, ANTHROPIC_API_KEY, STRIPE_SECRET_KEY, OTEL_EXPORTER_OTLP_ENDPOINT): together they were
 * about 1.3 s of CPU at every start. This records which packages the compiled app resolves.
 */
const OPTIONAL_SDKS = [
  '@anthropic-ai/sdk',
  '@discordjs/rest',
  'discord.js',
  '@slack/bolt',
  '@slack/web-api',
  'grammy',
  '@grammyjs/runner',
  'stripe',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/exporter-trace-otlp-http',
] as const;

function packagesLoadedBy(script: string, env: Record<string, string> = {}): Set<string> {
  const dir = tmpdir();
  const hook = path.join(dir, 'record-packages-hook.mjs');
  writeFileSync(
    hook,
    // Written synchronously: the hooks run on a thread of their own, whose buffered writes may
    // be lost when the main thread exits first (seen on Node 26).
    `import { writeSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) writeSync(2, 'PACKAGE ' + m[1] + '\\n');
  return r;
}
`,
  );
  const register = path.join(dir, 'record-packages.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
  );
  const r = spawnSync(process.execPath, ['--import', register, '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return new Set([...r.stderr.matchAll(/^PACKAGE (.+)$/gm)].map((m) => m[1]!));
}

describe('optional SDKs', () => {
  it('are not loaded with the app when nothing that needs them is set', () => {
    const loaded = packagesLoadedBy(`await import('./dist/src/app.js');`);
    expect(loaded.has('fastify')).toBe(true); // the hook saw the app's imports
    expect(OPTIONAL_SDKS.filter((p) => loaded.has(p))).toEqual([]);
  });

  it('are loaded by the factories that use them when their settings are set', () => {
    const loaded = packagesLoadedBy(`
      const { ADAPTER_FACTORIES } = await import('./dist/adapters/registry.js');
      const { createBuilder } = await import('./dist/src/builder/index.js');
      const { initTracing } = await import('./dist/src/tracing.js');
      const { loadConfig } = await import('./dist/src/config/index.js');
      const { silentLogger } = await import('./dist/src/log.js');
      const config = loadConfig({
        ANTHROPIC_API_KEY: 'sk-ant-test',
        TELEGRAM_BOT_TOKEN: '123456:ABCDEF',
        SLACK_BOT_TOKEN: 'xoxb-1-2-3',
        DISCORD_BOT_TOKEN: 'discord-token',
        DISCORD_APPLICATION_ID: '1234567890',
        DISCORD_PUBLIC_KEY: '${'ab'.repeat(32)}',
      });
      const logger = silentLogger();
      await createBuilder(config, logger);
      const tracing = await initTracing('http://127.0.0.1:1', 'test');
      await tracing.shutdown();
      const context = { config, logger };
      for (const factory of ADAPTER_FACTORIES) await factory(context).catch(() => {});
    `);
    expect(
      [
        '@anthropic-ai/sdk',
        '@opentelemetry/sdk-trace-node',
        'grammy',
        '@slack/web-api',
        '@discordjs/rest',
      ].filter((p) => !loaded.has(p)),
    ).toEqual([]);
  });
});
