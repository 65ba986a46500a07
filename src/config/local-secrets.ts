import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type SecretName = 'cookieSecret' | 'encryptionKey';

/**
 * Secrets a single machine can make up for itself (cookie signing, token encryption), kept in
 * `DATA_DIR/secrets.json` (mode 0600) so they survive restarts. Deployments with several
 * machines set COOKIE_SECRET and ENCRYPTION_KEY instead.
 */
export function localSecret(dataDir: string, name: SecretName): string {
  const file = path.join(dataDir, 'secrets.json');
  mkdirSync(dataDir, { recursive: true });
  const current: Partial<Record<SecretName, string>> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<SecretName, string>>)
    : {};
  const existing = current[name];
  if (existing) return existing;
  const value = randomBytes(32).toString('hex');
  writeFileSync(file, JSON.stringify({ ...current, [name]: value }, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return value;
}
