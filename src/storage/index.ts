import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { createLocalBundleStore } from './local/index.js';
import { createSupabaseBundleStore } from './supabase/index.js';
import type { BundleStore } from './types.js';

/** Supabase Storage when configured, else a folder in DATA_DIR. */
export function createBundleStore(config: Config, logger: Logger): BundleStore {
  if (config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY) {
    return createSupabaseBundleStore({
      url: config.SUPABASE_URL,
      serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
      bucket: config.SUPABASE_BUCKET,
      logger,
    });
  }
  return createLocalBundleStore({ dir: path.join(config.DATA_DIR, 'bundles') });
}
