import { FakeRender, type FakeRenderOptions } from '../render/server.js';
import { FakeSupabase } from '../supabase/server.js';
import { FakeRailway, type FakeRailwayOptions } from './server.js';

export const CLOUD = {
  railwayToken: 'railway-test-token',
  projectId: 'proj-test',
  environmentId: 'env-test',
  renderKey: 'rnd_test_key',
  ownerId: 'tea-test',
  supabaseKey: 'supabase-test-service-role',
  bucket: 'bundles',
} as const;

export interface CloudFakes {
  readonly railway: FakeRailway;
  readonly render: FakeRender;
  readonly supabase: FakeSupabase;
  /** Environment that points SpawnAI at the fakes: Railway and Render configured, Supabase Storage. */
  env(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

/** Local Railway, Render and Supabase Storage for end-to-end tests of the cloud path. */
export async function startCloudFakes(
  options: { railway?: Partial<FakeRailwayOptions>; render?: Partial<FakeRenderOptions> } = {},
): Promise<CloudFakes> {
  const railway = await new FakeRailway({
    token: CLOUD.railwayToken,
    projectId: CLOUD.projectId,
    environmentId: CLOUD.environmentId,
    ...options.railway,
  }).start();
  const render = await new FakeRender({
    apiKey: CLOUD.renderKey,
    ownerId: CLOUD.ownerId,
    ...options.render,
  }).start();
  const supabase = await new FakeSupabase({
    serviceRoleKey: CLOUD.supabaseKey,
    buckets: [CLOUD.bucket],
  }).start();
  return {
    railway,
    render,
    supabase,
    env: (extra = {}) => ({
      RAILWAY_API_TOKEN: CLOUD.railwayToken,
      RAILWAY_PROJECT_ID: CLOUD.projectId,
      RAILWAY_ENVIRONMENT_ID: CLOUD.environmentId,
      RAILWAY_API_URL: railway.url,
      RENDER_API_KEY: CLOUD.renderKey,
      RENDER_OWNER_ID: CLOUD.ownerId,
      RENDER_API_URL: render.url,
      SUPABASE_URL: supabase.url,
      SUPABASE_SERVICE_ROLE_KEY: CLOUD.supabaseKey,
      SUPABASE_BUCKET: CLOUD.bucket,
      ...extra,
    }),
    async stop() {
      await railway.stop();
      await render.stop();
      await supabase.stop();
    },
  };
}
