/**
 * `npm run bench:preview`: time from posting a message in the web chat to the preview answering
 * HTTP 200, against `spawnai start` on embedded defaults, with the local sandbox (bubblewrap) and
 * side by side without it (the same templates under Node's permission model alone), runs
 * alternating. Then the sandbox's own start-up cost: a bare deploy of a tiny app through the
 * local provider, sandboxed and not. Writes bench/results/preview.json. Target: P50 under 1 s
 * with the sandbox, on a 2-core machine.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/log.js';
import { createLocalProvider } from '../src/provision/local/index.js';
import { createLocalBundleStore } from '../src/storage/local/index.js';
import { fetchLoopback } from '../src/util/loopback-fetch.js';
import { deployRequest, helloApp, testSessionId } from '../test/contract/provider-contract.js';
import { type RunningCli, startCli, waitForHttp } from '../test/helpers/cli.js';
import { writeResult } from './result.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const TARGET_P50_MS = 1000;
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

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    minMs: sorted[0],
    maxMs: sorted.at(-1),
    samplesMs: samples,
  };
}

/** A data folder the sandbox user may pass through, as one usually is. */
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'spawnai-bench-'));
  chmodSync(dir, 0o755);
  return dir;
}

interface Chat {
  readonly server: RunningCli;
  readonly headers: Record<string, string>;
}

async function openChat(env: Record<string, string>): Promise<Chat> {
  const server = await startCli(['start'], {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    FREE_LIVE_SESSIONS: '100',
    FREE_BUILDS_PER_DAY: '1000',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir(),
    ...env,
  });
  await waitForHttp(`${server.url}/ready`, 60_000);
  const me = await fetch(`${server.url}/api/web/me`);
  const cookie = me.headers.get('set-cookie')!.split(';')[0]!;
  return { server, headers: { cookie, 'content-type': 'application/json' } };
}

/** One message to a preview answering 200, in ms; the app is stopped afterwards. */
async function oneRun({ server, headers }: Chat, i: number): Promise<number> {
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
      // Previews are <app>.localhost: to the loopback, as a browser sends them.
      const ok = await fetchLoopback(url, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
    }
    if (performance.now() - started > 60_000) throw new Error(`run ${i}: no preview within 60 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const elapsed = Math.round(performance.now() - started);
  await fetch(`${server.url}/api/web/actions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ action: 'stop', sessionId, clientId: randomUUID().replaceAll('-', '') }),
  });
  return elapsed;
}

async function closeChat({ server }: Chat): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(server.dataDir, { recursive: true, force: true });
}

/** The sandbox's own cost: deploy() of a tiny app until it listens, sandboxed and not. */
async function startupCost(): Promise<{ sandboxed: number[]; unsandboxed: number[] }> {
  const root = dataDir();
  const store = createLocalBundleStore({ dir: path.join(root, 'bundles') });
  const make = (sub: string, bwrap: string) =>
    createLocalProvider({
      appsDir: path.join(root, sub),
      previewHost: 'localhost',
      previewPort: 0,
      logger: silentLogger(),
      sandbox: { bwrap },
    });
  const sandboxed = make('sandboxed', 'bwrap');
  const bare = make('bare', '/nonexistent/bwrap');
  const out = { sandboxed: [] as number[], unsandboxed: [] as number[] };
  try {
    // The first deploy also detects the sandbox and opens the preview port: not counted.
    for (const provider of [sandboxed, bare]) {
      await provider.deploy(
        await deployRequest(store, testSessionId(), helloApp('warm'), { origin: 'template' }),
      );
    }
    for (let i = 0; i < RUNS; i++) {
      for (const [provider, into] of [
        [sandboxed, out.sandboxed],
        [bare, out.unsandboxed],
      ] as const) {
        const sessionId = testSessionId();
        const request = await deployRequest(store, sessionId, helloApp('hi'), { origin: 'template' });
        const started = performance.now();
        await provider.deploy(request);
        into.push(Math.round(performance.now() - started));
        await provider.destroy(sessionId);
      }
    }
  } finally {
    await sandboxed.close?.();
    await bare.close?.();
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<void> {
  const withSandbox = await openChat({});
  const without = await openChat({ LOCAL_SANDBOX_BWRAP: '/nonexistent/bwrap' });
  const samples = { sandboxed: [] as number[], unsandboxed: [] as number[] };
  try {
    // Alternating, so both see the same load on a shared machine.
    for (let i = 0; i < RUNS; i++) {
      samples.sandboxed.push(await oneRun(withSandbox, i));
      samples.unsandboxed.push(await oneRun(without, i));
    }
  } finally {
    await closeChat(withSandbox);
    await closeChat(without);
  }
  const startup = await startupCost();
  const sandboxed = summary(samples.sandboxed);
  const unsandboxed = summary(samples.unsandboxed);
  const deploySandboxed = summary(startup.sandboxed);
  const deployBare = summary(startup.unsandboxed);
  const costMs = deploySandboxed.p50Ms - deployBare.p50Ms;
  const ratio = Math.round((sandboxed.p50Ms / unsandboxed.p50Ms) * 100) / 100;
  const result = {
    description:
      'ms from POST /api/web/messages to the preview answering HTTP 200 (spawnai start, embedded defaults), ' +
      'with the local sandbox and without it, alternating runs',
    runs: RUNS,
    targetP50Ms: TARGET_P50_MS,
    met: sandboxed.p50Ms < TARGET_P50_MS,
    sandboxed,
    unsandboxed,
    p50RatioSandboxedToUnsandboxed: ratio,
    sandboxStartup: {
      description: "ms of the local provider's deploy() of a tiny app until it listens (bundle to socket)",
      sandboxed: deploySandboxed,
      unsandboxed: deployBare,
      costP50Ms: costMs,
    },
    note:
      `With the sandbox the P50 is ${sandboxed.p50Ms} ms (target ${TARGET_P50_MS} ms), ${ratio}x the run without it ` +
      `(${unsandboxed.p50Ms} ms). Starting an app in its sandbox (bubblewrap, control groups, handing it to nobody, ` +
      `the bridge socket) costs ${costMs} ms at the median: ${deploySandboxed.p50Ms} ms against ${deployBare.p50Ms} ms.`,
  };
  writeResult('preview', result, {
    p50Ms: sandboxed.p50Ms,
    unsandboxedP50Ms: unsandboxed.p50Ms,
    ratio,
    sandboxStartupCostMs: costMs,
    met: result.met,
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
