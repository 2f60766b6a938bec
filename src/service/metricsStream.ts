// One client's subscription to the service's metrics: the sampler runs while it lasts. The client
// gets the history first (metrics.init: the series and their points), then each sample as it is
// taken (metrics.sample), so a chart opened late draws the past minutes at once.
import type { MetricsSampler } from '../core/metrics/sampler';
import type { MetricsEvent } from './protocol';

export function metricsSubscription(sampler: MetricsSampler, send: (event: MetricsEvent) => void): { dispose(): void } {
  const w = sampler.store.window(sampler.historyMinutes * 60_000);
  send({
    type: 'metrics.init',
    intervalMs: sampler.intervalMs,
    historyMinutes: sampler.historyMinutes,
    gpu: sampler.gpuStatus,
    series: w.series.map((s) => ({ ...s })),
    t: [...w.t],
    columns: w.columns.map((c) => Array.from(c, (v) => (v === null || v === undefined || !Number.isFinite(v) ? null : v))),
  });
  const samples = sampler.onDidSample((e) => {
    const values: Record<string, number> = {};
    for (const [k, v] of e.batch.values) if (Number.isFinite(v)) values[k] = v;
    send({ type: 'metrics.sample', t: e.batch.t, values, added: e.added.map((s) => ({ ...s })), removed: e.removed, gpu: sampler.gpuStatus });
  });
  const lease = sampler.acquire('a client');
  return {
    dispose: () => {
      samples.dispose();
      lease.dispose();
    },
  };
}
