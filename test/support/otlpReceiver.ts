// An OTLP/HTTP traces receiver on 127.0.0.1 for the tests: takes what the OpenTelemetry exporter
// POSTs to /v1/traces (the JSON encoding, as @opentelemetry/exporter-trace-otlp-http sends it;
// ids as hex strings, attributes as key/value pairs) and keeps the spans, flattened.
import { EventEmitter, once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, string | number | boolean>;
  readonly service: string;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
const value = (v: AnyValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? '';

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly contentTypes: string[] = [];
  private readonly events = new EventEmitter();

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = http.createServer();
    const r = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        r.contentTypes.push(String(req.headers['content-type']));
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans?: { resource?: { attributes?: { key: string; value: AnyValue }[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
          for (const rs of body.resourceSpans ?? []) {
            const service = String(value(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value ?? {}));
            for (const ss of rs.scopeSpans ?? [])
              for (const s of ss.spans ?? []) {
                const attributes = Object.fromEntries(((s.attributes ?? []) as { key: string; value: AnyValue }[]).map((a) => [a.key, value(a.value)]));
                r.spans.push({ traceId: String(s.traceId), spanId: String(s.spanId), parentSpanId: String(s.parentSpanId ?? ''), name: String(s.name), kind: Number(s.kind), attributes, service });
              }
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
        r.events.emit('spans');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  /** Resolves with the spans of a trace once `test` holds for them; rejects after `timeoutMs`. */
  until(traceId: string, test: (spans: ReceivedSpan[]) => boolean, timeoutMs = 20_000): Promise<ReceivedSpan[]> {
    return new Promise((resolve, reject) => {
      const of = () => this.spans.filter((s) => s.traceId === traceId);
      const cleanup = () => (clearTimeout(timer), this.events.off('spans', check));
      const check = () => {
        if (!test(of())) return;
        cleanup();
        resolve(of());
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`trace ${traceId}: ${JSON.stringify(of().map((s) => s.name))} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('spans', check);
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
