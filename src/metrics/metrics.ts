import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_SLOW = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

/**
 * Every Prometheus metric of one process, on its own registry (several apps can share a test
 * process). Names follow Prometheus conventions: base units, `_total` for counters.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'spawnai_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_FAST,
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'spawnai_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'spawnai_queue_wait_seconds',
    help: 'Time a job waited before a worker took it',
    labelNames: ['queue'] as const,
    buckets: SECONDS_FAST.concat([30, 60, 300]),
    registers: [this.registry],
  });

  readonly queueProcessing = new Histogram({
    name: 'spawnai_queue_processing_seconds',
    help: 'Time a worker spent on a job, by outcome',
    labelNames: ['queue', 'outcome'] as const,
    buckets: SECONDS_SLOW,
    registers: [this.registry],
  });

  readonly buildStage = new Histogram({
    name: 'spawnai_build_stage_duration_seconds',
    help: 'Duration of each pipeline stage of a build (build, store, deploy, preview)',
    labelNames: ['stage', 'builder'] as const,
    buckets: SECONDS_SLOW,
    registers: [this.registry],
  });

  readonly builds = new Counter({
    name: 'spawnai_builds_total',
    help: 'Finished builds by builder and outcome',
    labelNames: ['builder', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly llmTokens = new Counter({
    name: 'spawnai_llm_tokens_total',
    help: 'LLM tokens used by builds, by kind (input, output, cache_read, cache_write)',
    labelNames: ['model', 'kind'] as const,
    registers: [this.registry],
  });

  readonly llmCost = new Counter({
    name: 'spawnai_llm_cost_usd_total',
    help: 'LLM cost of builds in USD',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly deployDuration = new Histogram({
    name: 'spawnai_deploy_duration_seconds',
    help: 'Time from asking a provider to deploy to the preview answering 200',
    labelNames: ['provider'] as const,
    buckets: SECONDS_SLOW,
    registers: [this.registry],
  });

  readonly deployFailures = new Counter({
    name: 'spawnai_deploy_failures_total',
    help: 'Deploys that failed, by provider and error code',
    labelNames: ['provider', 'code'] as const,
    registers: [this.registry],
  });

  readonly liveSessions = new Gauge({
    name: 'spawnai_live_sessions',
    help: 'Sessions live now, by provider and platform',
    labelNames: ['provider', 'platform'] as const,
    registers: [this.registry],
  });

  readonly platformCalls = new Counter({
    name: 'spawnai_platform_calls_total',
    help: 'Outbound calls to chat platforms, by outcome (ok, rate_limited, error)',
    labelNames: ['platform', 'method', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly platformRateLimited = new Counter({
    name: 'spawnai_platform_rate_limited_total',
    help: 'Outbound platform calls answered with 429 (or refused by our own pacing budget)',
    labelNames: ['platform'] as const,
    registers: [this.registry],
  });

  readonly spawnRequests = new Counter({
    name: 'spawnai_spawn_requests_total',
    help: 'Build requests by platform and outcome (created, iterating, duplicate, refused)',
    labelNames: ['platform', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'spawnai_' });
  }

  /** Runs `fn` before each scrape (gauges read from Redis and Postgres). */
  onScrape(fn: () => Promise<void>): void {
    this.collectors.push(fn);
  }

  private readonly collectors: (() => Promise<void>)[] = [];

  async render(): Promise<{ contentType: string; body: string }> {
    await Promise.all(this.collectors.map((fn) => fn().catch(() => {})));
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
