// The statistics a benchmark reports: percentiles by linear interpolation between closest ranks
// (numpy's default, as vLLM's benchmark computes its p50/p90/p99), the mean, the sample standard
// deviation and the coefficient of variation.

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  /** Sample standard deviation (n - 1). */
  readonly stddev: number;
  /** stddev / mean × 100; 0 for fewer than two samples. */
  readonly cvPct: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function summarize(values: readonly number[]): Summary | undefined {
  const xs = values.filter((v) => Number.isFinite(v));
  if (!xs.length) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const stddev = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return {
    n: xs.length,
    mean,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    stddev,
    cvPct: mean !== 0 && xs.length > 1 ? (stddev / Math.abs(mean)) * 100 : 0,
  };
}
