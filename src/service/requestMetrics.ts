// The service's own figures for GET /metrics, in the Prometheus text format next to the sampler's:
// requests by route and status, their durations as a histogram, and the gateway's own time.
// Counters only grow; the route label is the PERMISSIONS key (a bounded set), never a raw path.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) this.counts[i]++;
  }

  lines(name: string, labels: string): string[] {
    const sep = labels ? ',' : '';
    return [
      ...BUCKETS.map((b, i) => `${name}_bucket{${labels}${sep}le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`,
      `${name}_sum${labels ? `{${labels}}` : ''} ${this.sum}`,
      `${name}_count${labels ? `{${labels}}` : ''} ${this.count}`,
    ];
  }
}

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class RequestMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly gateway = new Histogram();

  /** One answered request: its route (a PERMISSIONS key), transport, status and duration. */
  record(route: string, transport: 'socket' | 'tcp', status: number, seconds: number): void {
    const key = `route="${label(route)}",transport="${transport}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const h = `route="${label(route)}",transport="${transport}"`;
    let hist = this.durations.get(h);
    if (!hist) this.durations.set(h, (hist = new Histogram()));
    hist.observe(seconds);
  }

  private readonly webhooks = new Map<string, number>();

  /** One webhook delivery attempt and how it ended. */
  webhookAttempt(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.webhooks.set(outcome, (this.webhooks.get(outcome) ?? 0) + 1);
  }

  /** The gateway's own time before the runtime got a request. */
  gatewayOverhead(seconds: number): void {
    this.gateway.observe(seconds);
  }

  toPrometheus(): string {
    const out = [
      '# HELP llmstack_service_requests_total Requests the service answered, by route, transport and status.',
      '# TYPE llmstack_service_requests_total counter',
      ...[...this.requests].map(([k, v]) => `llmstack_service_requests_total{${k}} ${v}`),
      '# HELP llmstack_service_request_duration_seconds Time to answer a request (to its last byte).',
      '# TYPE llmstack_service_request_duration_seconds histogram',
      ...[...this.durations].flatMap(([k, h]) => h.lines('llmstack_service_request_duration_seconds', k)),
      '# HELP llmstack_gateway_overhead_seconds Time the gateway took before the runtime got the request.',
      '# TYPE llmstack_gateway_overhead_seconds histogram',
      ...this.gateway.lines('llmstack_gateway_overhead_seconds', ''),
      '# HELP llmstack_webhook_deliveries_total Webhook delivery attempts, by outcome (delivered, retry, failed).',
      '# TYPE llmstack_webhook_deliveries_total counter',
      ...(['delivered', 'retry', 'failed'] as const).map((o) => `llmstack_webhook_deliveries_total{outcome="${o}"} ${this.webhooks.get(o) ?? 0}`),
    ];
    return `${out.join('\n')}\n`;
  }
}
