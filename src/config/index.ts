import path from 'node:path';
import { z } from 'zod';
import { VARS, type VarName } from './schema.js';

export { VARS, type VarName } from './schema.js';

type Schemas = { [K in VarName]: (typeof VARS)[K]['schema'] };
type Parsed = z.output<z.ZodObject<Schemas>>;

/** The parsed, frozen configuration. Nothing else in SpawnAI reads `process.env`. */
export type Config = Readonly<
  Parsed & {
    /** `PUBLIC_URL`, or `http://localhost:$PORT`, without a trailing slash. */
    readonly PUBLIC_URL: string;
    /** `DATA_DIR` as an absolute path. */
    readonly DATA_DIR: string;
    /** Whether `REDIS_URL` was given (unset lets `start` launch a private Redis). */
    readonly REDIS_URL_SET: boolean;
    readonly REDIS_URL: string;
  }
>;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Raised when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const objectSchema = z.object(
  Object.fromEntries(Object.entries(VARS).map(([k, v]) => [k, v.schema])) as unknown as Schemas,
);

/**
 * Parses the environment once. Empty strings count as unset (as in most `.env` files).
 * Throws {@link ConfigError} naming every bad variable and what it expects; values are never echoed.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): Config {
  const input: Record<string, string> = {};
  for (const name of Object.keys(VARS)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') input[name] = value.trim();
  }
  const result = objectSchema.safeParse(input);
  if (!result.success) {
    const problems = new Map<string, string>();
    for (const issue of result.error.issues) {
      const name = String(issue.path[0] ?? '');
      if (name in VARS && !problems.has(name)) {
        problems.set(name, `${name} must be ${VARS[name as VarName].expected}`);
      }
    }
    throw new ConfigError([...problems.values()]);
  }
  const parsed = result.data as Parsed;
  const problems = crossChecks(parsed);
  if (problems.length > 0) throw new ConfigError(problems);
  const publicUrl = (parsed.PUBLIC_URL ?? `http://localhost:${parsed.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    ...parsed,
    PUBLIC_URL: publicUrl,
    DATA_DIR: path.resolve(cwd, parsed.DATA_DIR),
    REDIS_URL_SET: parsed.REDIS_URL !== undefined,
    REDIS_URL: parsed.REDIS_URL ?? DEFAULT_REDIS_URL,
  });
}

/** Variables that only make sense together. */
function crossChecks(c: Parsed): string[] {
  const problems: string[] = [];
  const pairs: [VarName, VarName][] = [
    ['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET'],
    ['SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY'],
    ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'],
    ['RUNTIME_IMAGE_REGISTRY_USERNAME', 'RUNTIME_IMAGE_REGISTRY_PASSWORD'],
  ];
  for (const [a, b] of pairs) {
    if ((c[a] === undefined) !== (c[b] === undefined)) {
      problems.push(`${c[a] === undefined ? a : b} must be set together with ${c[a] === undefined ? b : a}`);
    }
  }
  if (c.DATABASE_DIRECT_URL && !c.DATABASE_URL) {
    problems.push('DATABASE_DIRECT_URL must be set together with DATABASE_URL');
  }
  if (
    c.PROVIDER === 'railway' &&
    !(c.RAILWAY_API_TOKEN && c.RAILWAY_PROJECT_ID && c.RAILWAY_ENVIRONMENT_ID)
  ) {
    problems.push('PROVIDER=railway needs RAILWAY_API_TOKEN, RAILWAY_PROJECT_ID and RAILWAY_ENVIRONMENT_ID');
  }
  if (c.PREVIEW_PORT !== 0 && c.PREVIEW_PORT === c.PORT) {
    problems.push('PREVIEW_PORT must differ from PORT: previews never share the chat’s host and port');
  }
  if (c.PROVIDER === 'render' && !(c.RENDER_API_KEY && c.RENDER_OWNER_ID)) {
    problems.push('PROVIDER=render needs RENDER_API_KEY and RENDER_OWNER_ID');
  }
  // Railway and Render download each bundle from a signed URL: the local disk store has none.
  if ((c.PROVIDER === 'railway' || c.PROVIDER === 'render') && !c.SUPABASE_URL) {
    problems.push(
      `PROVIDER=${c.PROVIDER} needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (bundles are downloaded from Supabase Storage)`,
    );
  }
  return problems;
}

/** Names of the variables whose values must never be printed or logged. */
export const SECRET_VARS: readonly VarName[] = (Object.keys(VARS) as VarName[]).filter((k) => VARS[k].secret);
