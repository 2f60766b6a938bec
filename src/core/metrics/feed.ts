// What the front ends read metrics from: the sampler itself where it runs in this process, a
// mirror of the service's sampler in an editor window, or a relay that follows one of them.
import { Emitter, type Event, type IDisposable, toDisposable } from '../lifecycle';
import type { SampleEvent } from './sampler';
import type { SeriesStore } from './ring';
import type { GpuStatus } from './types';

export interface MetricsFeed {
  /** Keeps sampling (and the samples coming) until the returned handle is disposed. */
  acquire(reason: string): IDisposable;
  readonly onDidSample: Event<SampleEvent>;
  readonly onDidChangeGpuStatus: Event<GpuStatus>;
  /** Fires when the store was replaced (a history arrived, another feed is followed): charts start over from it. */
  readonly onDidReset?: Event<void>;
  /** The series and their points so far. */
  readonly store: SeriesStore;
  readonly gpuStatus: GpuStatus;
  readonly isRunning: boolean;
  readonly samplesTaken: number;
  /** Why sampling runs: the reasons of the current holders here. */
  readonly reasons: string[];
  toPrometheus(): string | Promise<string>;
  snapshotJson(windowMs?: number): string | Promise<string>;
}

/**
 * One MetricsFeed that forwards another, chosen later (a window learns after activation whether
 * the service samples its engine). The holders move with the switch: each is released on the old
 * feed and acquired on the new one.
 */
export class FeedRelay implements MetricsFeed, IDisposable {
  private readonly sampleEmitter = new Emitter<SampleEvent>();
  readonly onDidSample = this.sampleEmitter.event;
  private readonly gpuEmitter = new Emitter<GpuStatus>();
  readonly onDidChangeGpuStatus = this.gpuEmitter.event;
  private readonly resetEmitter = new Emitter<void>();
  readonly onDidReset = this.resetEmitter.event;
  private readonly holders = new Map<object, { reason: string; lease: IDisposable }>();
  private subscriptions: IDisposable[] = [];

  constructor(private feed: MetricsFeed) {
    this.follow();
  }

  get current(): MetricsFeed {
    return this.feed;
  }

  use(feed: MetricsFeed): void {
    if (feed === this.feed) return;
    for (const h of this.holders.values()) h.lease.dispose();
    this.feed = feed;
    for (const h of this.holders.values()) h.lease = feed.acquire(h.reason);
    this.follow();
    this.resetEmitter.fire();
  }

  private follow(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.subscriptions = [this.feed.onDidSample((e) => this.sampleEmitter.fire(e)), this.feed.onDidChangeGpuStatus((g) => this.gpuEmitter.fire(g))];
    if (this.feed.onDidReset) this.subscriptions.push(this.feed.onDidReset(() => this.resetEmitter.fire()));
  }

  acquire(reason: string): IDisposable {
    const key = {};
    this.holders.set(key, { reason, lease: this.feed.acquire(reason) });
    return toDisposable(() => {
      this.holders.get(key)?.lease.dispose();
      this.holders.delete(key);
    });
  }

  get store(): SeriesStore {
    return this.feed.store;
  }
  get gpuStatus(): GpuStatus {
    return this.feed.gpuStatus;
  }
  get isRunning(): boolean {
    return this.feed.isRunning;
  }
  get samplesTaken(): number {
    return this.feed.samplesTaken;
  }
  get reasons(): string[] {
    return this.feed.reasons;
  }
  toPrometheus(): string | Promise<string> {
    return this.feed.toPrometheus();
  }
  snapshotJson(windowMs?: number): string | Promise<string> {
    return this.feed.snapshotJson(windowMs);
  }

  dispose(): void {
    for (const h of this.holders.values()) h.lease.dispose();
    this.holders.clear();
    this.subscriptions.forEach((s) => s.dispose());
    this.sampleEmitter.dispose();
    this.gpuEmitter.dispose();
    this.resetEmitter.dispose();
  }
}
