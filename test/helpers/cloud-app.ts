import { type CloudFakes, startCloudFakes } from '../fakes/railway/cloud-env.js';
import { startTestApp, type TestApp } from './app.js';

/** The whole service on its own Postgres, with Railway, Render and Supabase Storage as fakes. */
export interface CloudApp {
  readonly fakes: CloudFakes;
  readonly t: TestApp;
  stop(): Promise<void>;
}

export async function startCloudApp(env: Record<string, string>): Promise<CloudApp> {
  const fakes = await startCloudFakes();
  const t = await startTestApp(fakes.env(env));
  return {
    fakes,
    t,
    async stop() {
      await t.stop();
      await fakes.stop();
    },
  };
}
