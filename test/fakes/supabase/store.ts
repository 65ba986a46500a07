import { silentLogger } from '../../../src/log.js';
import { createSupabaseBundleStore } from '../../../src/storage/supabase/index.js';
import type { BundleStore } from '../../../src/storage/types.js';
import { FakeSupabase } from './server.js';

export const FAKE_SUPABASE_KEY = 'fake-service-role-key';

/** A local Supabase Storage and the real bundle store pointed at it. */
export async function startSupabaseStore(
  bucket = 'bundles',
): Promise<{ fake: FakeSupabase; store: BundleStore }> {
  const fake = await new FakeSupabase({ serviceRoleKey: FAKE_SUPABASE_KEY, buckets: [bucket] }).start();
  const store = createSupabaseBundleStore({
    url: fake.url,
    serviceRoleKey: FAKE_SUPABASE_KEY,
    bucket,
    logger: silentLogger(),
  });
  return { fake, store };
}
