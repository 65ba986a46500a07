/**
 * `npm run bench:ingest`: signed `/spawn` slash commands (a distinct user and trigger id each,
 * signed before the run) sent with autocannon (or wrk: BENCH_LOAD=wrk) at 64 connections to
 * SpawnAI's own `POST /slack/events` (the `web` process as `spawnai web` runs it) and, in the same run and
 * with the same requests, to a bare @slack/bolt app doing verify + `queue.add` + ack (the
 * peer, bench/bolt-peer.mjs), interleaved round by round, on a private redis-server. Rounds on
 * Postgres, then one on PGlite. After each of SpawnAI's rounds an inbound worker drains the
 * queue and every acknowledged request is checked to have become exactly one build or one reply.
 * Writes bench/results/ingest.json. Targets: on Postgres >= 2.0x the peer's req/s in every
 * round, p99 < 25 ms, 0 lost; on PGlite >= 1.0x.
 *
 * The worker drains after the load, not during it: on one 2-core machine it would take the
 * cores the web process is measured on. In production web and worker are separate machines.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { openDatabase } from '../src/db/client.js';
import { silentLogger } from '../src/log.js';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort } from '../src/util/free-port.js';
import { ROOT, type RunningCli, runCli, startCli, waitForHttp } from '../test/helpers/cli.js';
import { createThrowawayPostgres } from '../test/helpers/db.js';
import { writeResult } from './result.js';

const CONNECTIONS = 64;
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const PG_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PGLITE_DURATION_S = Number(process.env.BENCH_PGLITE_DURATION_S ?? 5);
/** 0 leaves the PGlite round out (a quick look at Postgres alone). */
const PGLITE_ROUNDS = Number(process.env.BENCH_PGLITE_ROUNDS ?? 1);
const DRAIN_TIMEOUT_S = Number(process.env.BENCH_DRAIN_TIMEOUT_S ?? 1800);
/** Requests signed per target and round: more than the fastest rate seen, times the duration. */
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 12_000);
const SECRET = 'bench-signing-secret-0123456789abcdef';
const TEAM = 'T0BENCH';
const TARGETS = { ratio: 2.0, p99Ms: 25, pgliteRatio: 1.0 };

interface Signed {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** Distinct slash commands, signed now; `key` names them (trigger ids `<key>-<n>`). */
function signCommands(key: string, count: number, responseBase: string): Signed[] {
  const ts = String(Math.floor(Date.now() / 1000));
  const out: Signed[] = [];
  for (let i = 0; i < count; i++) {
    const trigger = `${key}-${i}`;
    const body = new URLSearchParams({
      token: 'legacy',
      team_id: TEAM,
      team_domain: 'bench',
      channel_id: 'C0BENCH',
      channel_name: 'general',
      user_id: `U${key.toUpperCase().replace(/[^A-Z0-9]/g, '')}X${i}`,
      user_name: `bench${i}`,
      command: '/spawn',
      text: `a counter app number ${i}`,
      api_app_id: 'A0BENCH',
      response_url: `${responseBase}/respond/${trigger}`,
      trigger_id: trigger,
    }).toString();
    const sig = `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
    out.push({
      body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': sig,
      },
    });
  }
  return out;
}

/** Slack's Web API and response URLs, as far as the bench needs them; counts replies. */
async function startSink(): Promise<{ url: string; replies: Map<string, number>; server: Server }> {
  const replies = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.startsWith('/respond/')) {
        const trigger = url.slice('/respond/'.length);
        replies.set(trigger, (replies.get(trigger) ?? 0) + 1);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      const body =
        url === '/api/auth.test'
          ? { ok: true, team_id: TEAM, user_id: 'U0BOT', bot_id: 'B0BOT' }
          : { ok: true, channel: 'C0BENCH', ts: `${Date.now() / 1000}` };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, replies, server };
}

/**
 * With two or more cores, the server under test (ours or the peer, one at a time) runs alone on
 * the last core and the load generator and Redis on the others, as they would be on other
 * machines in production: on a shared pair of cores, the load generator's and Redis's CPU per
 * request would be charged to whichever server makes them work harder. BENCH_PIN=0 turns it off.
 */
const PIN = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2 && hasTaskset();
const SERVER_CPUS = String(availableParallelism() - 1);
const OTHER_CPUS = availableParallelism() > 2 ? `0-${availableParallelism() - 2}` : '0';
/** Cores the load generator and Redis have (all of them when not pinning). */
const otherCores = PIN ? availableParallelism() - 1 : availableParallelism();

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
}

/** The command line that runs `cmd` on `cpus` (unchanged when not pinning). */
function onCpus(cpus: string, cmd: string, argv: readonly string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', cpus, cmd, ...argv]] : [cmd, [...argv]];
}

/** Moves a running process (all its threads) to `cpus`. */
function pin(pid: number, cpus: string): void {
  if (!PIN) return;
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`taskset could not pin ${pid} to ${cpus}`);
}

/** Requests per second that `cores` cores can serve at `msPerRequest` of CPU each. */
function ceiling(cores: number, msPerRequest: number): number {
  return Math.round((cores * 1000) / Math.max(0.001, msPerRequest));
}

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU time (user + system) so far, in ms (Linux /proc stat): the process's own (utime, stime:
 * fields 14 and 15), or with `children` that of its children it has waited for (cutime,
 * cstime: fields 16 and 17).
 */
function cpuMs(pid: number | 'self', children = false): number {
  // [0] here is field 3: the name, in parentheses, may contain spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const first = children ? 13 : 11;
  return ((Number(fields[first]) + Number(fields[first + 1])) * 1000) / CLK_TCK;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

interface Load {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  acknowledged: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  peakRssMb: number;
  sent: number;
  /** CPU time the server process used per acknowledged request, in ms. */
  cpuMsPerRequest: number;
  /** CPU time Redis used per acknowledged request, in ms (the same server for both targets). */
  redisCpuMsPerRequest: number;
  /** CPU time the load generator used per acknowledged request, in ms (wrk only). */
  loadCpuMsPerRequest?: number;
}

/**
 * The load generator: autocannon (as the issue's own measurement), or wrk (C, Debian package
 * `wrk`) with BENCH_LOAD=wrk. Both share the machine with Redis and the server under test;
 * wrk spends far less CPU per request, so more of the machine measures the servers.
 */
const LOAD_GENERATOR: 'wrk' | 'autocannon' = process.env.BENCH_LOAD === 'wrk' ? 'wrk' : 'autocannon';

/** CPU time Redis has used so far, in ms (INFO cpu, microsecond resolution). */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (read('used_cpu_sys') + read('used_cpu_user')) * 1000;
}

/**
 * Measures a server process while `run` sends load; the counts come from the generator. The
 * CPU that Redis and the generator spend per request is recorded beside the server's: all
 * three share the machine's cores, so a server's rate is also bounded by what they cost.
 */
async function measured(
  pid: number,
  redis: Redis,
  run: () => Promise<Omit<Load, 'peakRssMb' | 'cpuMsPerRequest' | 'redisCpuMsPerRequest'>>,
): Promise<Load> {
  let peak = rssMb(pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 200);
  const cpuBefore = cpuMs(pid);
  const redisBefore = await redisCpuMs(redis);
  // The load generator's CPU, counted once it has exited (no other child exits while it runs).
  const loadBefore = cpuMs('self', true);
  try {
    const counts = await run();
    const cpu = cpuMs(pid) - cpuBefore;
    const redisCpu = (await redisCpuMs(redis)) - redisBefore;
    const loadCpu = cpuMs('self', true) - loadBefore;
    peak = Math.max(peak, rssMb(pid));
    const perRequest = (ms: number) => Math.round((ms / Math.max(1, counts.acknowledged)) * 1000) / 1000;
    return {
      ...counts,
      peakRssMb: peak,
      cpuMsPerRequest: perRequest(cpu),
      redisCpuMsPerRequest: perRequest(redisCpu),
      ...(LOAD_GENERATOR === 'wrk' ? { loadCpuMsPerRequest: perRequest(loadCpu) } : {}),
    };
  } finally {
    clearInterval(sampler);
  }
}

/** One run of the load generator; each request takes the next signed command, once. */
async function load(
  url: string,
  pid: number,
  redis: Redis,
  signed: Signed[],
  seconds: number,
): Promise<Load> {
  const result = await measured(pid, redis, () =>
    LOAD_GENERATOR === 'wrk' ? wrk(url, signed, seconds) : cannon(url, signed, seconds),
  );
  if (result.sent > signed.length) {
    throw new Error(`ran out of signed requests (${result.sent} > ${signed.length})`);
  }
  return result;
}

async function cannon(url: string, signed: Signed[], seconds: number) {
  let next = 0;
  const result = await autocannon({
    url: `${url}/slack/events`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const s = signed[next++ % signed.length]!;
          return { ...req, body: s.body, headers: s.headers };
        },
      },
    ],
  });
  return {
    reqPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    acknowledged: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    sent: next,
  };
}

interface WrkCounts {
  requests: number;
  durationUs: number;
  status: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  sent: number;
}

async function wrk(url: string, signed: Signed[], seconds: number) {
  const { host } = new URL(url);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'spawnai-bench-wrk-')), 'requests');
  const raw = signed.map((s) => {
    const head = Object.entries(s.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    return `POST /slack/events HTTP/1.1\r\nhost: ${host}\r\n${head}content-length: ${Buffer.byteLength(s.body)}\r\n\r\n${s.body}\0`;
  });
  writeFileSync(file, raw.join(''));
  try {
    const [cmd, argv] = onCpus(OTHER_CPUS, 'wrk', [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '--timeout',
      '2s',
      '-s',
      path.join(ROOT, 'bench', 'wrk-requests.lua'),
      url,
    ]);
    const child = spawn(cmd, argv, {
      env: { ...process.env, BENCH_REQUESTS: file },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const line = /^WRKJSON (.*)$/m.exec(out)?.[1];
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${out}`);
    const c = JSON.parse(line) as WrkCounts;
    const ms = (us: number) => Math.round(us / 100) / 10;
    return {
      reqPerSec: Math.round(c.requests / (c.durationUs / 1e6)),
      p50Ms: ms(c.p50Us),
      p99Ms: ms(c.p99Us),
      maxMs: ms(c.maxUs),
      acknowledged: c.requests - c.status,
      non2xx: c.status,
      errors: c.connect + c.read + c.write,
      timeouts: c.timeout,
      sent: c.sent,
    };
  } finally {
    rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

async function stop(p: { child: ChildProcess; exited: Promise<unknown> }): Promise<void> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await p.exited;
}

async function startPeer(
  redisUrl: string,
  prefix: string,
): Promise<{ url: string; child: ChildProcess; exited: Promise<unknown> }> {
  const port = await freePort();
  const [cmd, argv] = onCpus(SERVER_CPUS, process.execPath, [path.join(ROOT, 'bench', 'bolt-peer.mjs')]);
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      SLACK_SIGNING_SECRET: SECRET,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('listening')) resolve();
    });
    child.once('exit', () => reject(new Error('the Bolt peer exited')));
  });
  return { url: `http://127.0.0.1:${port}`, child, exited };
}

interface Outcome {
  acknowledged: number;
  handled: number;
  builds: number;
  replies: number;
  lost: number;
  twice: number;
  drainSeconds: number;
  /** False when the worker had not finished within BENCH_DRAIN_TIMEOUT_S (then `lost` counts the rest). */
  drained: boolean;
}

/** Drains SpawnAI's inbound queue with a worker of that queue only, then counts what became of each request. */
async function drainAndCount(
  env: Record<string, string>,
  redisUrl: string,
  prefix: string,
  keys: readonly { key: string; sent: number; acknowledged: number }[],
  replies: Map<string, number>,
  countBuilds: (like: string) => Promise<{ builds: number; distinct: number; keys: Set<string> }>,
): Promise<Outcome> {
  const started = Date.now();
  let drained = true;
  const worker = await startCli(['worker'], {
    ...env,
    WORKER_QUEUES: 'inbound',
    INBOUND_CONCURRENCY: '32',
    DATABASE_POOL_MAX: '16',
  });
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('inbound', { connection, prefix });
  try {
    for (;;) {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(c).every((n) => n === 0)) break;
      if (Date.now() - started > DRAIN_TIMEOUT_S * 1000) {
        // Counted as far as it got: what is still waiting shows up as not handled (yet).
        drained = false;
        break;
      }
      if (worker.child.exitCode !== null)
        throw new Error(`the worker exited:\n${worker.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await queue.close();
    connection.disconnect();
    await stop(worker);
  }
  const drainSeconds = Math.round((Date.now() - started) / 100) / 10;
  let acknowledged = 0;
  let handled = 0;
  let builds = 0;
  let replyCount = 0;
  let twice = 0;
  for (const k of keys) {
    acknowledged += k.acknowledged;
    const counted = await countBuilds(`slack:${k.key}-%`);
    builds += counted.builds;
    twice += counted.builds - counted.distinct;
    for (let i = 0; i < k.sent; i++) {
      const trigger = `${k.key}-${i}`;
      const r = replies.get(trigger) ?? 0;
      replyCount += r;
      const built = counted.keys.has(`slack:${trigger}`);
      if (built || r > 0) handled++;
      if (r > 1 || (built && r > 0)) twice++;
    }
  }
  // Requests in flight when autocannon stopped may be handled without being counted as
  // acknowledged, so `handled` can exceed `acknowledged` by up to the connections.
  return {
    acknowledged,
    handled,
    builds,
    replies: replyCount,
    lost: Math.max(0, acknowledged - handled),
    twice,
    drainSeconds,
    drained,
  };
}

interface Round {
  round: number;
  database: 'postgres' | 'pglite';
  peer: Load;
  spawnai: Load;
  ratio: number;
  /** The peer's CPU per request over ours: how much less work each request costs us. */
  cpuRatio: number;
  /**
   * Rates (req/s) at which a core would be full, from the CPU per request measured: each server
   * on its own core, and the load generator plus Redis on the other cores (the kernel's share of
   * loopback networking not counted, so a real ceiling is lower). The measured rate cannot pass
   * the lower of a server's and the load side's.
   */
  ceilings: {
    peerServer: number;
    spawnaiServer: number;
    loadSideForPeer: number;
    loadSideForSpawnai: number;
  };
  outcome: Outcome;
}

async function main(): Promise<void> {
  if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) {
    throw new Error('npm run build failed');
  }
  const work = mkdtempSync(path.join(tmpdir(), 'spawnai-bench-ingest-'));
  const redis = await startLocalRedis(path.join(work, 'redis'), silentLogger());
  const sink = await startSink();
  const pg = await createThrowawayPostgres();
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const common = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-bench-0000000001-abcdef',
    SLACK_API_URL: `${sink.url}/api/`,
    FREE_BUILDS_PER_DAY: '1000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
  };
  const rounds: Round[] = [];
  // Reads Redis's own CPU counters around each load.
  const watch = new Redis(redis.url, { maxRetriesPerRequest: null });
  pin(Number(/^process_id:(\d+)/m.exec(await watch.info('server'))?.[1]), OTHER_CPUS);
  const peer = await startPeer(redis.url, `${prefix}peer`);
  try {
    const pgEnv = { ...common, DATABASE_URL: pg.url, DATA_DIR: path.join(work, 'pg-data') };
    const migrated = await runCli(['migrate'], pgEnv, 120_000);
    if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.output}`);
    const lite = { ...common, DATA_DIR: path.join(work, 'pglite-data'), QUEUE_PREFIX: `${prefix}lite` };
    const liteMigrated = await runCli(['migrate'], lite, 300_000);
    if (liteMigrated.code !== 0) throw new Error(`migrate (PGlite) failed:\n${liteMigrated.output}`);

    const plan: { database: 'postgres' | 'pglite'; seconds: number }[] = [
      ...Array.from({ length: PG_ROUNDS }, () => ({ database: 'postgres' as const, seconds: DURATION_S })),
      ...Array.from({ length: PGLITE_ROUNDS }, () => ({
        database: 'pglite' as const,
        seconds: PGLITE_DURATION_S,
      })),
    ];
    for (const [n, step] of plan.entries()) {
      const env = step.database === 'postgres' ? pgEnv : lite;
      const key = `r${n + 1}${randomBytes(2).toString('hex')}`;
      const warmSigned = signCommands(`${key}w`, Math.ceil(MAX_RATE * WARMUP_S * 1.5), sink.url);
      const signed = signCommands(key, Math.ceil(MAX_RATE * step.seconds * 1.5), sink.url);
      process.stdout.write(`round ${n + 1} (${step.database}): peer\n`);
      await load(peer.url, peer.child.pid!, watch, warmSigned, WARMUP_S);
      const peerLoad = await load(peer.url, peer.child.pid!, watch, signed, step.seconds);
      process.stdout.write(
        `  peer ${JSON.stringify(peerLoad)}\nround ${n + 1} (${step.database}): spawnai\n`,
      );
      const web: RunningCli = await startCli(['web'], env, {
        wrap: (cmd, argv) => onCpus(SERVER_CPUS, cmd, argv),
      });
      let ours: Load;
      let warm: Load;
      try {
        await waitForHttp(`${web.url}/ready`, 60_000);
        warm = await load(web.url, web.child.pid!, watch, warmSigned, WARMUP_S);
        ours = await load(web.url, web.child.pid!, watch, signed, step.seconds);
      } finally {
        await stop(web);
      }
      process.stdout.write(`  spawnai ${JSON.stringify(ours)}\n  draining\n`);
      const countBuilds = async (like: string) => {
        const db = await openDatabase(
          step.database === 'postgres'
            ? { url: pg.url, poolMax: 1 }
            : { pgliteDir: path.join(lite.DATA_DIR, 'db'), poolMax: 1 },
        );
        try {
          const r = (await db.db.execute(
            sql`select request_key from builds where request_key like ${like}`,
          )) as unknown as {
            rows: { request_key: string }[];
          };
          const keys = new Set(r.rows.map((x) => x.request_key));
          return { builds: r.rows.length, distinct: keys.size, keys };
        } finally {
          await db.close();
        }
      };
      const outcome = await drainAndCount(
        env,
        redis.url,
        env.QUEUE_PREFIX,
        [
          { key: `${key}w`, sent: warm.sent, acknowledged: warm.acknowledged },
          { key, sent: ours.sent, acknowledged: ours.acknowledged },
        ],
        sink.replies,
        countBuilds,
      );
      const round: Round = {
        round: n + 1,
        database: step.database,
        peer: peerLoad,
        spawnai: ours,
        ratio: Math.round((ours.reqPerSec / Math.max(1, peerLoad.reqPerSec)) * 100) / 100,
        cpuRatio: Math.round((peerLoad.cpuMsPerRequest / Math.max(0.001, ours.cpuMsPerRequest)) * 100) / 100,
        ceilings: {
          peerServer: ceiling(1, peerLoad.cpuMsPerRequest),
          spawnaiServer: ceiling(1, ours.cpuMsPerRequest),
          loadSideForPeer: ceiling(
            otherCores,
            peerLoad.redisCpuMsPerRequest + (peerLoad.loadCpuMsPerRequest ?? 0),
          ),
          loadSideForSpawnai: ceiling(
            otherCores,
            ours.redisCpuMsPerRequest + (ours.loadCpuMsPerRequest ?? 0),
          ),
        },
        outcome,
      };
      process.stdout.write(
        `  ${JSON.stringify({ ratio: round.ratio, cpuRatio: round.cpuRatio, ceilings: round.ceilings, outcome })}\n`,
      );
      rounds.push(round);
    }
  } finally {
    watch.disconnect();
    await stop(peer);
    await pg.drop().catch(() => {});
    await redis.stop();
    sink.server.close();
    rmSync(work, { recursive: true, force: true });
  }
  const pgRounds = rounds.filter((r) => r.database === 'postgres');
  const liteRounds = rounds.filter((r) => r.database === 'pglite');
  const met = {
    postgresRatio: pgRounds.every((r) => r.ratio >= TARGETS.ratio),
    postgresP99: pgRounds.every((r) => r.spawnai.p99Ms < TARGETS.p99Ms),
    nothingLost: rounds.every((r) => r.outcome.lost === 0 && r.outcome.twice === 0),
    pgliteRatio: liteRounds.every((r) => r.ratio >= TARGETS.pgliteRatio),
  };
  writeResult(
    'ingest',
    {
      setup: {
        // Unless pinned, the load generator, Redis and the server share these: their CPU per
        // request is part of every rate measured here, hence the CPU columns beside it.
        cpus: availableParallelism(),
        pinned: PIN
          ? { serverUnderTest: SERVER_CPUS, loadGeneratorAndRedis: OTHER_CPUS }
          : 'no: every process on every core',
        loadGenerator: LOAD_GENERATOR,
        connections: CONNECTIONS,
        warmupSeconds: WARMUP_S,
        durationSeconds: DURATION_S,
        pgliteDurationSeconds: PGLITE_DURATION_S,
        peer: 'bench/bolt-peer.mjs: @slack/bolt App (HTTPReceiver), verify + queue.add + ack',
        spawnai: '`spawnai web` (dist), POST /slack/events; an inbound-only worker drains after each load',
        requests:
          'distinct pre-signed /spawn slash commands, a distinct user each; the same set to both in a round',
      },
      targets: TARGETS,
      met,
      rounds,
    },
    {
      ratios: rounds.map((r) => `${r.database}:${r.ratio}`),
      cpuRatios: rounds.map((r) => `${r.database}:${r.cpuRatio}`),
      p99Ms: rounds.map((r) => r.spawnai.p99Ms),
      lost: rounds.map((r) => r.outcome.lost),
      met,
    },
  );
}

await main();
process.exit(0);
