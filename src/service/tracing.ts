// Tracing in the service: a W3C traceparent a caller sends is taken as the parent of the request's
// span, and passed on (as this service's span) to every runtime request made for it, through the
// gateway or by the runtime clients (core/runtimes/http.ts injects it). Spans are exported over
// OTLP/HTTP when an endpoint is configured (tracing.otlpEndpoint, or the standard
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT); without one none is made and
// the caller's traceparent is passed on unchanged. Generations through the gateway are named
// and described after the OpenTelemetry GenAI semantic conventions.
import { context, propagation, trace } from '@opentelemetry/api';

export interface Tracing {
  /** Where spans go, or undefined when they are not exported. */
  readonly endpoint: string | undefined;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The OTLP traces URL from the setting or the standard environment variables. */
export function otlpTracesEndpoint(setting: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (setting) return setting;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`;
  return undefined;
}

let propagating: Promise<void> | undefined;

/** Whether a context manager and the W3C propagator are set up (a traceparent then travels). */
export function isPropagating(): boolean {
  return propagating !== undefined;
}

/**
 * Sets up the context manager and the W3C propagator, once: at start when spans are exported, else
 * at the first request that carries a traceparent (a service no one traces does not load them).
 */
export function ensurePropagation(): Promise<void> {
  propagating ??= (async () => {
    const [{ AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }] = await Promise.all([import('@opentelemetry/context-async-hooks'), import('@opentelemetry/core')]);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  })();
  return propagating;
}

export async function startTracing(o: { endpoint: string | undefined; version: string }): Promise<Tracing> {
  const disable = () => {
    trace.disable();
    propagation.disable();
    context.disable();
    propagating = undefined;
  };
  // Without an endpoint no span is made: the caller's traceparent is passed on as it came (the API's
  // non-recording spans carry it), and the SDK is not even loaded (the idle service stays small).
  if (!o.endpoint) return { endpoint: undefined, shutdown: () => Promise.resolve(disable()) };
  await ensurePropagation();
  const [{ BasicTracerProvider, BatchSpanProcessor }, { resourceFromAttributes }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'llmstack', 'service.version': o.version, 'process.pid': process.pid }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: o.endpoint, timeoutMillis: 10_000 }))],
  });
  trace.setGlobalTracerProvider(provider);
  return {
    endpoint: o.endpoint,
    async shutdown() {
      await provider.shutdown().catch(() => undefined);
      disable();
    },
  };
}

/** The GenAI operation a runtime path is (gen_ai.operation.name), if it is one. */
export function genAiOperation(path: string): 'chat' | 'text_completion' | 'embeddings' | undefined {
  if (/\/api\/chat$|\/v1\/chat\/completions$/.test(path)) return 'chat';
  if (/\/api\/generate$|\/v1\/completions$/.test(path)) return 'text_completion';
  if (/\/api\/embed(dings)?$|\/v1\/embeddings$/.test(path)) return 'embeddings';
  return undefined;
}
