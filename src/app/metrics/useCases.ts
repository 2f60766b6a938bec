// The metrics as every front end reads them: the latest value of every series in Prometheus text,
// and a JSON snapshot (with the points of a window when asked). The sampler runs while a client
// is subscribed to the metrics stream; these read what it has.
import { z } from 'zod';
import type { MetricsSampler } from '../../core/metrics/sampler';
import { defineUseCase } from '../useCase';

interface MetricsDeps {
  readonly sampler: Pick<MetricsSampler, 'snapshot' | 'toPrometheus'>;
}

const prometheus = defineUseCase({
  name: 'metrics.prometheus',
  summary: 'The latest value of every metrics series, in the Prometheus text format.',
  input: z.object({}),
  output: z.object({ text: z.string() }),
  run: (deps: MetricsDeps) => Promise.resolve({ text: deps.sampler.toPrometheus() }),
});

const snapshot = defineUseCase({
  name: 'metrics.snapshot',
  summary: "Every metrics series with its labels and latest value, and with windowMinutes the window's points.",
  input: z.object({ windowMinutes: z.number().positive().max(24 * 60).optional() }),
  output: z.object({
    takenAt: z.string(),
    intervalMs: z.number(),
    gpu: z.object({ kind: z.string() }).loose(),
    series: z.array(z.object({ key: z.string() }).loose()),
    window: z.object({ ms: z.number(), t: z.array(z.number()), columns: z.array(z.array(z.number().nullable())) }).optional(),
  }),
  run: (deps: MetricsDeps, input) => {
    const snap = deps.sampler.snapshot(input.windowMinutes === undefined ? undefined : input.windowMinutes * 60_000);
    // NaN and gaps travel as null in JSON.
    return Promise.resolve(JSON.parse(JSON.stringify(snap)) as never);
  },
});

export const metricsUseCases = [prometheus, snapshot] as const;
