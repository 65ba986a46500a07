/**
 * `npm run bench:preview`: time from posting a message in the web chat to the preview answering
 * HTTP 200, over 20 runs against `spawnai start` on embedded defaults. Writes P50 and P95 to
 * bench/results/preview.json. Target: P50 under 3 s on a 2-core machine.
 */
import { randomUUID } from 'node:crypto';
import { startCli, waitForHttp } from '../test/helpers/cli.js';
import { writeResult } from './result.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const PROMPTS = [
  'a todo list for my climbing gym',
  'a landing page for a bakery',
  'a guestbook for our wedding',
  'a blog about sourdough',
  'a dashboard of monthly sales with a chart',
  'a JSON API for books',
];

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function main(): Promise<void> {
  const server = await startCli(['start'], {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    FREE_LIVE_SESSIONS: '100',
    FREE_BUILDS_PER_DAY: '1000',
    LOCAL_PREVIEW_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  try {
    await waitForHttp(`${server.url}/ready`, 30_000);
    const me = await fetch(`${server.url}/api/web/me`);
    const cookie = me.headers.get('set-cookie')!.split(';')[0]!;
    const headers = { cookie, 'content-type': 'application/json' };
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const res = await fetch(`${server.url}/api/web/messages`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          text: `/spawn ${PROMPTS[i % PROMPTS.length]}`,
          clientId: randomUUID().replaceAll('-', ''),
        }),
      });
      const body = (await res.json()) as { spawn?: { sessionId: string } };
      const sessionId = body.spawn?.sessionId;
      if (!sessionId) throw new Error(`run ${i}: no session started (${res.status} ${JSON.stringify(body)})`);
      let url: string | undefined;
      for (;;) {
        if (!url) {
          const list = (await (await fetch(`${server.url}/api/web/sessions`, { headers })).json()) as {
            sessions: { id: string; status: string; previewUrl: string | null }[];
          };
          const s = list.sessions.find((x) => x.id === sessionId);
          if (s?.status === 'failed') throw new Error(`run ${i}: build failed`);
          url = s?.previewUrl ?? undefined;
        }
        if (url) {
          const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
            (r) => r.status === 200,
            () => false,
          );
          if (ok) break;
        }
        if (performance.now() - started > 60_000) throw new Error(`run ${i}: no preview within 60 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
      samples.push(Math.round(performance.now() - started));
      await fetch(`${server.url}/api/web/actions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ action: 'stop', sessionId, clientId: randomUUID().replaceAll('-', '') }),
      });
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const result = {
      description:
        'ms from POST /api/web/messages to the preview answering HTTP 200 (spawnai start, embedded defaults)',
      runs: RUNS,
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      minMs: sorted[0],
      maxMs: sorted.at(-1),
      targetP50Ms: 3000,
      met: percentile(sorted, 50) < 3000,
      samplesMs: samples,
    };
    writeResult('preview', result, { p50Ms: result.p50Ms, p95Ms: result.p95Ms, met: result.met });
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
