import { context, propagation, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

const TRACER = 'spawnai';

/** W3C trace context (traceparent, tracestate) carried inside a job's data. */
export type TraceCarrier = Record<string, string>;

export interface Tracing {
  /** Flushes spans still buffered; call on shutdown. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP/JSON).
 * Without it the API stays a no-op and costs nothing: the SDK and exporter are not even loaded.
 */
export async function initTracing(endpoint: string | undefined, serviceName: string): Promise<Tracing> {
  if (!endpoint) return { shutdown: async () => {} };
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor, NodeTracerProvider }] =
    await Promise.all([
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-node'),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }), {
        scheduledDelayMillis: 1000,
      }),
    ],
  });
  provider.register();
  return {
    async shutdown() {
      await provider.forceFlush().catch(() => {});
      await provider.shutdown().catch(() => {});
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The current trace context, to put into a job so the worker's spans join the same trace. */
export function injectTrace(): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** Runs `fn` in a span, a child of `parent` (a job's carrier) or of the current span. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  parent?: TraceCarrier,
): Promise<T> {
  const base = parent ? propagation.extract(context.active(), parent) : context.active();
  return trace.getTracer(TRACER).startActiveSpan(name, { attributes }, base, async (span) => {
    try {
      return await fn(span);
    } catch (e) {
      span.recordException(e instanceof Error ? e : new Error(String(e)));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw e;
    } finally {
      span.end();
    }
  });
}
