// An editor window's mirror of the service's metrics: while something here holds it (the metrics
// panel while visible, the status bar figure), one subscription to /v1/metrics/events keeps the
// service sampling; the history it sends first and each sample after fill a local SeriesStore, so
// the charts read as they read a sampler in this process. The service samples once for every
// window; nothing samples while nobody looks.
import type { MetricsFeed } from '../core/metrics/feed';
import { SeriesStore } from '../core/metrics/ring';
import type { SampleEvent } from '../core/metrics/sampler';
import type { GpuStatus } from '../core/metrics/types';
import { Emitter, errorMessage, type Event, type IDisposable, type Logger, toDisposable } from '../core/lifecycle';
import type { MetricsEvent } from './protocol';

interface RemoteSamplerOptions {
  /** Opens the metrics stream of the running service (started first when none answers). */
  readonly subscribe: (listener: (e: MetricsEvent) => void, onEnd: (why: string) => void) => Promise<IDisposable>;
  readonly call: <T>(name: string, input: unknown) => Promise<T>;
  /** Fires when the service (re)connects: a stream lost with it is opened again. */
  readonly onDidConnect: Event<unknown>;
  readonly log: Logger;
}

const GPU_UNKNOWN: GpuStatus = { kind: 'absent', message: 'Waiting for the LLM Stack service.' };

export class RemoteSampler implements MetricsFeed, IDisposable {
  private readonly sampleEmitter = new Emitter<SampleEvent>();
  readonly onDidSample = this.sampleEmitter.event;
  private readonly gpuEmitter = new Emitter<GpuStatus>();
  readonly onDidChangeGpuStatus = this.gpuEmitter.event;
  private readonly resetEmitter = new Emitter<void>();
  /** Fires when the history arrived: the store was replaced. */
  readonly onDidReset = this.resetEmitter.event;
  private readonly holders = new Set<{ reason: string }>();
  private stream: IDisposable | undefined;
  private opening: Promise<void> | undefined;
  private live = false;
  private taken = 0;
  private gpu: GpuStatus = GPU_UNKNOWN;
  private disposed = false;
  private readonly connectSub: IDisposable;
  store = new SeriesStore(3660);

  constructor(private readonly options: RemoteSamplerOptions) {
    this.connectSub = options.onDidConnect(() => {
      if (this.holders.size && !this.stream && !this.opening) this.open();
    });
  }

  get gpuStatus(): GpuStatus {
    return this.gpu;
  }
  /** True while the service's samples arrive. */
  get isRunning(): boolean {
    return this.live;
  }
  /** Samples received since this window started. */
  get samplesTaken(): number {
    return this.taken;
  }
  get reasons(): string[] {
    return [...this.holders].map((h) => h.reason);
  }

  acquire(reason: string): IDisposable {
    if (this.disposed) return toDisposable(() => undefined);
    const holder = { reason };
    this.holders.add(holder);
    if (this.holders.size === 1) this.open();
    return toDisposable(() => {
      if (this.holders.delete(holder) && this.holders.size === 0) this.close();
    });
  }

  private open(): void {
    const opening = this.options
      .subscribe(
        (e) => this.onEvent(e),
        (why) => {
          this.stream = undefined;
          this.live = false;
          if (!this.disposed && this.holders.size) this.options.log.warn(`The metrics stream from the LLM Stack service ended (${why}); it opens again with the service.`);
        },
      )
      .then(
        (stream) => {
          if (this.opening !== opening) return stream.dispose();
          this.stream = stream;
        },
        (e: unknown) => this.options.log.warn(`Could not subscribe to the LLM Stack service's metrics: ${errorMessage(e)}`),
      )
      .finally(() => {
        if (this.opening === opening) this.opening = undefined;
        // Released while the stream was opening.
        if (!this.holders.size) this.close();
      });
    this.opening = opening;
  }

  private close(): void {
    this.opening = undefined;
    this.stream?.dispose();
    this.stream = undefined;
    this.live = false;
  }

  private onEvent(e: MetricsEvent): void {
    if (this.disposed) return;
    this.setGpu(e.gpu);
    if (e.type === 'metrics.init') {
      // The same capacity rule as the sampler's: the history at this interval, one spare point a minute.
      const store = new SeriesStore(Math.ceil((e.historyMinutes * 60_000) / e.intervalMs) + e.historyMinutes);
      e.series.forEach((info, i) => {
        store.add(info);
        const col = e.columns[i] ?? [];
        e.t.forEach((t, j) => {
          const v = col[j];
          if (typeof v === 'number') store.push(info.key, t, v);
        });
      });
      this.store = store;
      this.live = true;
      this.resetEmitter.fire();
      return;
    }
    const added = e.added.filter((info) => this.store.add(info));
    for (const key of e.removed) this.store.remove(key);
    const values = new Map(Object.entries(e.values));
    const batch = { t: e.t, values };
    this.store.pushBatch(batch);
    this.taken++;
    this.live = true;
    this.sampleEmitter.fire({ batch, added, removed: e.removed });
  }

  private setGpu(gpu: GpuStatus): void {
    if (JSON.stringify(gpu) === JSON.stringify(this.gpu)) return;
    this.gpu = gpu;
    this.gpuEmitter.fire(gpu);
  }

  async toPrometheus(): Promise<string> {
    return (await this.options.call<{ text: string }>('metrics.prometheus', {})).text;
  }

  async snapshotJson(windowMs?: number): Promise<string> {
    return JSON.stringify(await this.options.call('metrics.snapshot', windowMs === undefined ? {} : { windowMinutes: windowMs / 60_000 }), null, 2);
  }

  dispose(): void {
    this.disposed = true;
    this.holders.clear();
    this.close();
    this.connectSub.dispose();
    this.sampleEmitter.dispose();
    this.gpuEmitter.dispose();
    this.resetEmitter.dispose();
  }
}
