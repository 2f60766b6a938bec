// Owns the metrics sources and samples them on one timer, only while someone holds the sampler.
import type Docker from 'dockerode';
import type { ContainerRecord } from '../docker/containers';
import { DisposableStore, Emitter, errorMessage, type Event, type IDisposable, type Logger, silentLogger, toDisposable } from '../lifecycle';
import { ContainerStats, type ContainerStatsOptions } from './containerStats';
import { formatPrometheus, type LatestValue, type MetricsSnapshot } from './exposition';
import { HostSampler, hostSeries, hostValues, type HostSamplerOptions } from './host';
import { modelSeries, type ModelThroughputOptions, ModelThroughput, type RuntimeInfo } from './models';
import { NvidiaSmi, type NvidiaSmiOptions } from './nvidia';
import { SeriesStore } from './ring';
import type { GpuStatus, SampleBatch, SeriesInfo } from './types';

export interface SampleEvent {
  readonly batch: SampleBatch;
  /** Series seen for the first time in this sample. */
  readonly added: SeriesInfo[];
  /** Series whose entity went away (a container no longer shown, a runtime removed). */
  readonly removed: string[];
}

/** The timer functions, replaceable by a simulated clock in tests and benchmarks. */
export interface SamplerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: SamplerTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface MetricsSamplerOptions {
  /** The engine client of the moment (an EngineConnection fits); without it there are no container metrics. */
  readonly engine?: { readonly docker: Docker | undefined };
  /** Container names and states (a ContainerCache fits): streams open for running containers only. */
  readonly containers?: { get(id: string): ContainerRecord | undefined; readonly onDidChange: Event<unknown> };
  /** The runtimes whose tokens/s is measured (a ModelCatalog fits). */
  readonly catalog?: { list(): readonly RuntimeInfo[]; readonly onDidChange: Event<unknown> };
  /** Time between samples (default 1000 ms). */
  readonly intervalMs?: number;
  /** History kept per series (default 60 minutes). */
  readonly historyMinutes?: number;
  readonly now?: () => number;
  readonly timers?: SamplerTimers;
  /** Options for nvidia-smi (binary path…); false turns GPU metrics off. */
  readonly nvidia?: NvidiaSmiOptions | false;
  readonly host?: HostSamplerOptions;
  readonly models?: ModelThroughputOptions;
  readonly containerStats?: ContainerStatsOptions;
  readonly log?: Logger;
}

const GPU_OFF: GpuStatus = { kind: 'absent', message: 'GPU metrics are turned off.' };

/**
 * Sampling runs only while at least one holder (the visible panel, a status bar item) has not
 * released: the last release clears the timer, closes the stats streams and kills nvidia-smi, so
 * nobody pays for charts nobody looks at. History survives a pause, with a gap.
 */
export class MetricsSampler implements IDisposable {
  private readonly onDidSampleEmitter = new Emitter<SampleEvent>();
  readonly onDidSample: Event<SampleEvent> = this.onDidSampleEmitter.event;
  private readonly onDidChangeGpuStatusEmitter = new Emitter<GpuStatus>();
  readonly onDidChangeGpuStatus: Event<GpuStatus> = this.onDidChangeGpuStatusEmitter.event;
  private readonly onDidChangeRunningEmitter = new Emitter<boolean>();
  /** Fires true when sampling starts (first holder) and false when it stops (last release). */
  readonly onDidChangeRunning: Event<boolean> = this.onDidChangeRunningEmitter.event;

  /** The bounded history of every series. */
  readonly store: SeriesStore;

  private readonly log: Logger;
  private readonly now: () => number;
  private readonly timers: SamplerTimers;
  private interval: number;
  private history: number;
  private readonly host: HostSampler;
  private readonly nvidia: NvidiaSmi | undefined;
  private readonly stats: ContainerStats;
  private readonly models: ModelThroughput;
  private readonly holders = new Set<{ reason: string }>();
  private readonly subscriptions = new DisposableStore();
  /** Listeners that live only while sampling runs. */
  private running: DisposableStore | undefined;
  /** Bumped on every start and stop, so a tick that straddles a stop throws its result away. */
  private generation = 0;
  private timer: unknown;
  private ticking = false;
  private taken = 0;
  private shown: string[] = [];
  private readonly labels = new Map<string, Record<string, string>>();
  /** Host pids per container, refreshed through ContainerStats.containerPids while GPU processes exist. */
  private readonly pidSets = new Map<string, ReadonlySet<number>>();
  /** Containers that once had GPU memory: their series stays (at 0) rather than flicker. */
  private readonly gpuContainers = new Set<string>();
  private disposed = false;

  constructor(private readonly options: MetricsSamplerOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
    this.interval = validInterval(options.intervalMs ?? 1000);
    this.history = validMinutes(options.historyMinutes ?? 60);
    this.store = new SeriesStore(this.capacity());
    this.host = new HostSampler({ log: this.log, now: this.now, ...options.host });
    this.nvidia = options.nvidia === false ? undefined : new NvidiaSmi({ log: this.log, now: this.now, intervalMs: this.interval, ...options.nvidia });
    this.stats = new ContainerStats(() => options.engine?.docker, { log: this.log, now: this.now, ...options.containerStats });
    this.models = new ModelThroughput({ log: this.log, now: this.now, ...options.models });
    if (this.nvidia) this.subscriptions.add(this.nvidia.onDidChangeStatus((s) => this.onDidChangeGpuStatusEmitter.fire(s)));
  }

  /** How many samples were taken since construction; does not grow while nobody holds the sampler. */
  get samplesTaken(): number {
    return this.taken;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  get intervalMs(): number {
    return this.interval;
  }

  get historyMinutes(): number {
    return this.history;
  }

  get gpuStatus(): GpuStatus {
    return this.nvidia?.status ?? GPU_OFF;
  }

  /** Containers being read, by stream or cgroup files (none while nobody holds the sampler). */
  get streamedContainers(): string[] {
    return this.stats.active;
  }

  /** Containers read from the kernel's cgroup files (a local engine) rather than a stream. */
  get kernelReadContainers(): string[] {
    return this.stats.kernelRead;
  }

  /** Why sampling runs: the reasons of the current holders. */
  get reasons(): string[] {
    return [...this.holders].map((h) => h.reason);
  }

  /** Sampling runs while at least one holder has not released. */
  acquire(reason: string): IDisposable {
    if (this.disposed) return toDisposable(() => undefined);
    const holder = { reason };
    this.holders.add(holder);
    if (this.holders.size === 1) this.start();
    return toDisposable(() => {
      if (!this.holders.delete(holder)) return;
      if (this.holders.size === 0) this.stop();
    });
  }

  /** The containers being shown (running runtimes and those in view); only running ones are streamed. */
  setContainers(ids: Iterable<string>): void {
    this.shown = [...new Set(ids)];
    if (this.running) this.applyContainers();
  }

  /** A generation the extension ran; its tokens/s is charted for a minute. */
  recordGeneration(runtimeId: string, model: string, outputTokens: number, durationMs: number): void {
    this.models.recordGeneration(runtimeId, model, outputTokens, durationMs);
  }

  setIntervalMs(ms: number): void {
    const next = validInterval(ms);
    if (next === this.interval) return;
    this.interval = next;
    this.store.resize(this.capacity());
    if (this.running && !this.ticking) this.schedule(0);
  }

  setHistoryMinutes(minutes: number): void {
    this.history = validMinutes(minutes);
    this.store.resize(this.capacity());
  }

  /**
   * Takes one sample now (benchmarks drive a simulated clock this way); nothing while nobody
   * holds the sampler or while a sample is being taken.
   */
  sampleNow(): Promise<SampleEvent | undefined> {
    return this.running ? this.tick(false) : Promise.resolve(undefined);
  }

  /** The latest value of every series in Prometheus text format. */
  toPrometheus(): string {
    return formatPrometheus(this.latest());
  }

  snapshot(windowMs?: number): MetricsSnapshot {
    const series = this.store.series().map((info) => {
      const last = this.store.ring(info.key)?.last;
      return { ...info, labels: this.labels.get(info.key) ?? {}, last: last ? { t: last.t, value: last.v } : null };
    });
    const snap: MetricsSnapshot = { takenAt: new Date(this.now()).toISOString(), intervalMs: this.interval, gpu: this.gpuStatus, series };
    if (windowMs === undefined) return snap;
    const w = this.store.window(windowMs);
    return { ...snap, window: { ms: windowMs, t: w.t, columns: w.columns } };
  }

  snapshotJson(windowMs?: number): string {
    return JSON.stringify(this.snapshot(windowMs), null, 2);
  }

  dispose(): void {
    if (this.disposed) return;
    this.holders.clear();
    this.stop();
    this.disposed = true;
    this.subscriptions.dispose();
    this.stats.dispose();
    this.nvidia?.dispose();
    this.onDidSampleEmitter.dispose();
    this.onDidChangeGpuStatusEmitter.dispose();
    this.onDidChangeRunningEmitter.dispose();
  }

  private capacity(): number {
    // One spare point per minute: a tick that runs late must not push the oldest minute's start out.
    return Math.ceil((this.history * 60_000) / this.interval) + this.history;
  }

  private latest(): LatestValue[] {
    const out: LatestValue[] = [];
    for (const info of this.store.series()) {
      const last = this.store.ring(info.key)?.last;
      if (last) out.push({ info, labels: this.labels.get(info.key) ?? {}, t: last.t, value: last.v });
    }
    return out;
  }

  private start(): void {
    if (this.running || this.disposed) return;
    this.generation++;
    const running = new DisposableStore();
    this.running = running;
    this.host.reset();
    this.models.reset();
    this.nvidia?.start();
    if (this.options.containers) running.add(this.options.containers.onDidChange(() => this.applyContainers()));
    if (this.options.catalog) {
      const catalog = this.options.catalog;
      running.add(catalog.onDidChange(() => this.models.setRuntimes(catalog.list())));
      this.models.setRuntimes(catalog.list());
    }
    this.applyContainers();
    this.log.debug(`Metrics sampling started (${this.reasons.join(', ')}).`);
    this.onDidChangeRunningEmitter.fire(true);
    this.schedule(0);
  }

  private stop(): void {
    if (!this.running) return;
    this.generation++;
    this.running.dispose();
    this.running = undefined;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.stats.stop();
    void this.nvidia?.stop();
    this.host.reset();
    this.models.reset();
    this.pidSets.clear();
    this.log.debug(`Metrics sampling stopped after ${this.taken} samples.`);
    this.onDidChangeRunningEmitter.fire(false);
  }

  private applyContainers(): void {
    const cache = this.options.containers;
    const ids = cache
      ? this.shown.filter((id) => {
          const state = cache.get(id)?.state;
          return state === 'running' || state === 'paused';
        })
      : this.shown;
    this.stats.setContainers(ids);
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const gen = this.generation;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      if (gen === this.generation) void this.tick(true);
    }, Math.max(0, delayMs));
  }

  private async tick(reschedule: boolean): Promise<SampleEvent | undefined> {
    if (this.ticking || !this.running) return undefined;
    const gen = this.generation;
    const started = this.now();
    this.ticking = true;
    try {
      return await this.sample(gen);
    } catch (e) {
      this.log.warn(`Taking a metrics sample failed: ${errorMessage(e)}`);
      return undefined;
    } finally {
      this.ticking = false;
      if (reschedule && gen === this.generation) this.schedule(this.interval - (this.now() - started));
    }
  }

  private async sample(gen: number): Promise<SampleEvent | undefined> {
    this.stats.reconcile();
    const [host, rates] = await Promise.all([this.host.sample(), this.models.sample()]);
    if (gen !== this.generation) return undefined;
    const t = this.now();
    const values = new Map<string, number>();
    const infos: SeriesInfo[] = [];
    const labels = new Map<string, Record<string, string>>();

    infos.push(...hostSeries(host));
    hostValues(host, values);

    const gpus = this.nvidia?.gpus() ?? [];
    const gpuNames = new Map<string, number>();
    for (const g of gpus) {
      gpuNames.set(g.uuid, g.index);
      const entity = `GPU ${g.index} · ${g.name}`;
      const l = { gpu: String(g.index), uuid: g.uuid, name: g.name };
      const add = (metric: string, unit: SeriesInfo['unit'], v: number | undefined, max?: number) => {
        if (v === undefined) return;
        const key = `gpu.${g.index}.${metric}`;
        infos.push({ key, group: 'gpu', entity, entityId: g.uuid, metric, unit, max });
        labels.set(key, l);
        values.set(key, v);
      };
      add('util', '%', g.utilization, 100);
      add('memory', 'bytes', g.memoryUsed, g.memoryTotal);
      add('temperature', '°C', g.temperature);
      add('power', 'W', g.power);
    }

    const fresh = this.stats.readings(Math.max(3000, 3 * this.interval));
    const gpuByContainer = this.gpuMemoryByContainer([...fresh.keys()]);
    for (const [id, r] of fresh) {
      const rec = this.options.containers?.get(id);
      const entity = rec?.name ?? id.slice(0, 12);
      const l = { container: entity, container_id: id };
      const add = (metric: string, unit: SeriesInfo['unit'], v: number | undefined, max?: number) => {
        if (v === undefined || !Number.isFinite(v)) return;
        const key = `container.${id}.${metric}`;
        infos.push({ key, group: 'container', entity, entityId: id, metric, unit, max });
        labels.set(key, l);
        values.set(key, v);
      };
      add('cpu', '%', r.cpu);
      add('memory', 'bytes', r.memory, r.memoryLimit);
      add('net.rx', 'B/s', r.netRx);
      add('net.tx', 'B/s', r.netTx);
      add('block.read', 'B/s', r.blockRead);
      add('block.write', 'B/s', r.blockWrite);
      const gpuMem = gpuByContainer.get(id);
      if (gpuMem !== undefined) this.gpuContainers.add(id);
      if (this.gpuContainers.has(id)) add('gpu.memory', 'bytes', gpuMem ?? 0);
    }

    for (const rate of rates) {
      const info = modelSeries(rate);
      infos.push(info);
      labels.set(info.key, { runtime: rate.runtimeId, runtime_name: rate.runtimeName, model: rate.model });
      values.set(info.key, rate.tokensPerSecond);
    }

    const added: SeriesInfo[] = [];
    for (const info of infos) {
      if (this.store.add(info)) added.push(info);
      this.labels.set(info.key, labels.get(info.key) ?? {});
    }
    const removed = this.removeGone();
    const batch: SampleBatch = { t, values };
    this.store.pushBatch(batch);
    this.taken++;
    const event: SampleEvent = { batch, added, removed };
    this.onDidSampleEmitter.fire(event);
    return event;
  }

  /**
   * Sums the GPU memory of each container's processes. Pid lists come from `docker top`, cached
   * for 30 s and refreshed in the background, so this never waits on the engine.
   */
  private gpuMemoryByContainer(ids: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    const procs = this.nvidia?.processes() ?? [];
    if (!procs.length) return out;
    const gen = this.generation;
    for (const id of ids) {
      void this.stats.containerPids(id).then((pids) => {
        if (gen === this.generation) this.pidSets.set(id, new Set(pids));
      });
      const pids = this.pidSets.get(id);
      if (!pids) continue;
      let sum: number | undefined;
      for (const p of procs) if (pids.has(p.pid)) sum = (sum ?? 0) + (p.usedMemory ?? 0);
      if (sum !== undefined) out.set(id, sum);
    }
    return out;
  }

  /**
   * Series whose entity is gone: containers no longer shown (a stopped one still shown keeps its
   * history, with a gap), GPUs while none are readable, runtimes removed.
   */
  private removeGone(): string[] {
    const containers = new Set(this.shown);
    const runtimeIds = this.options.catalog ? new Set(this.options.catalog.list().map((r) => r.endpoint.id)) : undefined;
    const gpuOk = this.gpuStatus.kind === 'ok';
    const removed: string[] = [];
    for (const info of this.store.series()) {
      let gone = false;
      if (info.group === 'container') gone = !containers.has(info.entityId);
      else if (info.group === 'gpu') gone = !gpuOk;
      else if (info.group === 'model' && runtimeIds) gone = !runtimeIds.has(info.entityId.slice(0, info.entityId.indexOf('\u0000')));
      if (gone) {
        this.store.remove(info.key);
        this.labels.delete(info.key);
        removed.push(info.key);
      }
    }
    for (const id of this.gpuContainers) if (!containers.has(id)) this.gpuContainers.delete(id);
    for (const id of this.pidSets.keys()) if (!containers.has(id)) this.pidSets.delete(id);
    return removed;
  }
}

function validInterval(ms: number): number {
  return Number.isFinite(ms) ? Math.min(60_000, Math.max(100, Math.round(ms))) : 1000;
}

function validMinutes(m: number): number {
  return Number.isFinite(m) ? Math.min(24 * 60, Math.max(1, Math.round(m))) : 60;
}
