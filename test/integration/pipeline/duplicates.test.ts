import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import type { DbKind } from '../../helpers/db.js';
import { WebChatClient } from '../../helpers/web-client.js';

/**
 * The same message delivered several times at once, many times over: every delivery must come
 * back as the one session it created, never as "still working on a change" to that session.
 */
describe.each<DbKind>(['postgres', 'pglite'])('concurrent duplicates on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    // The conversation runs in the inbound worker; no builds (no spawn worker) are needed here.
    t = await startTestApp(
      { FREE_LIVE_SESSIONS: '50', OFFLINE_BUILD_STEP_MS: '2000', WORKER_QUEUES: 'inbound' },
      {},
      { database },
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('gives each message one session and one build, and every delivery its id', async () => {
    const rounds = await Promise.all(
      Array.from({ length: 8 }, async (_, round) => {
        const client = new WebChatClient(t.url);
        await client.open();
        const clientId = `dup${round}round000`;
        return Promise.all([1, 2, 3].map(() => client.send(`a guestbook number ${round}`, clientId)));
      }),
    );
    for (const results of rounds) {
      const replies = results.map(
        (r) => `${r.status} ${r.replies?.map((m) => m.view.title).join(',') ?? JSON.stringify(r.error)}`,
      );
      const ids = new Set(results.map((r) => r.spawn?.sessionId));
      expect(ids.size, replies.join(' | ')).toBe(1);
      expect([...ids][0]).toBeDefined();
      expect(results.filter((r) => r.spawn?.duplicate === false)).toHaveLength(1);
      expect(await t.app.repos.builds.listForSession([...ids][0]!)).toHaveLength(1);
    }
  });
});
