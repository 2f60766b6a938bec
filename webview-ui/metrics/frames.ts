// Drawing at most once per animation frame, and the time each drawing took: what frameStats report.
import type { FromPanel } from '../../src/shared/metricsProtocol';

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return Math.round(sorted[i] * 100) / 100;
}

export class FrameClock {
  private requested = false;
  private readonly times: number[] = [];

  constructor(
    /** Draws what changed; false when nothing had (no frame to time). */
    private readonly draw: () => boolean,
    private readonly post: (message: FromPanel) => void,
  ) {}

  schedule(): void {
    if (this.requested) return;
    this.requested = true;
    requestAnimationFrame(() => this.frame());
  }

  /** Posts the timings so far as one frameStats, if there are any. */
  flush(): void {
    if (!this.times.length) return;
    const sorted = [...this.times].sort((a, b) => a - b);
    this.times.length = 0;
    this.post({ type: 'frameStats', frames: sorted.length, p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95) });
  }

  private frame(): void {
    this.requested = false;
    const t0 = performance.now();
    if (!this.draw()) return;
    // uPlot draws a new chart in a microtask; ours is queued after it, so the time includes it.
    queueMicrotask(() => this.times.push(performance.now() - t0));
  }
}
