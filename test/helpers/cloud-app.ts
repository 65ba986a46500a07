import { type CloudFakes, startCloudFakes } from '../fakes/railway/cloud-env.js';
import { startTestApp, type TestApp } from './app.js';
import { createThrowawayPostgres } from './db.js';

/** The whole service on its own Postgres, with Railway, Render and Supabase Storage as fakes. */
export interface CloudApp {
  readonly fakes: CloudFakes;
  readonly t: TestApp;
  stop(): Promise<void>;
}

export async function startCloudApp(env: Record<string, string>): Promise<CloudApp> {
  const fakes = await startCloudFakes();
  const pg = await createThrowawayPostgres();
  const t = await startTestApp(fakes.env({ DATABASE_URL: pg.url, ...env }));
  return {
    fakes,
    t,
    async stop() {
      await t.stop();
      await pg.drop();
      await fakes.stop();
    },
  };
}
