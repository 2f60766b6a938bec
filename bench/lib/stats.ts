// Percentile and rounding helpers shared by the benchmarks (nearest-rank percentiles).

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Nearest-rank percentile of unsorted samples; NaN for an empty list. */
export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export interface Summary {
  n: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(samples: readonly number[], digits = 2): Summary {
  const n = samples.length;
  return {
    n,
    p50Ms: round(percentile(samples, 50), digits),
    p95Ms: round(percentile(samples, 95), digits),
    minMs: round(n ? Math.min(...samples) : NaN, digits),
    maxMs: round(n ? Math.max(...samples) : NaN, digits),
    meanMs: round(n ? samples.reduce((a, b) => a + b, 0) / n : NaN, digits),
  };
}

/** Wall-clock epoch milliseconds with sub-millisecond resolution (comparable to Date.now()). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Runs the garbage collector a few times when node was started with --expose-gc; false otherwise. */
export async function collectGarbage(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return true;
}
