// Tracing in the service: a W3C traceparent a caller sends is taken as the parent of the request's
// span, and passed on (as this service's span) to every runtime request made for it, through the
// gateway or by the runtime clients (core/runtimes/http.ts injects it). Spans are exported over
// OTLP/HTTP when an endpoint is configured (tracing.otlpEndpoint, or the standard
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT); without one they are made
// (so the ids passed on are this service's) and dropped. Generations through the gateway are named
// and described after the OpenTelemetry GenAI semantic conventions.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

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

export async function startTracing(o: { endpoint: string | undefined; version: string }): Promise<Tracing> {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // The exporter (and the OTLP encoding under it) is loaded only when spans are exported.
  const exporter = o.endpoint ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: o.endpoint, timeoutMillis: 10_000 }) : undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'llmstack', 'service.version': o.version, 'process.pid': process.pid }),
    spanProcessors: exporter ? [new BatchSpanProcessor(exporter)] : [],
  });
  trace.setGlobalTracerProvider(provider);
  return {
    endpoint: o.endpoint,
    async shutdown() {
      await provider.shutdown().catch(() => undefined);
      trace.disable();
      propagation.disable();
      context.disable();
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
