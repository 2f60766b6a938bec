// The fit estimate calibrated on this machine: whenever a runtime holds exactly one model in
// memory, what it used is recorded against what the model is (weights, KV cache at the context it
// was loaded with). The measurement is the runtime container's memory from the metrics sampler
// (the first sample after the load was seen), else what the runtime itself reports for the loaded
// model (Ollama's /api/ps size). models.fit then takes the overhead from these measurements and
// reports the estimate's error against them (core/bench/fit.ts calibrate).
import { kvPerToken } from '../../core/stack/resolve';
import { Disposable, errorMessage, type Event, type IDisposable, type Logger, silentLogger, toDisposable } from '../../core/lifecycle';
import type { SampleEvent } from '../../core/metrics/sampler';
import type { RegistryRepositories } from '../../core/registry/repositories';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import type { RuntimeState } from '../../core/runtimes/catalog';
import type { RuntimeModel } from '../../core/runtimes/runtime';
import type { HardwareInfo } from '../../core/stack/types';
import { modelFactsOf } from './fit';
import { hardwareFingerprint } from './useCases';

/** The metrics sampler, as far as a measurement needs it. */
interface MemorySamples {
  acquire(reason: string): IDisposable;
  readonly onDidSample: Event<SampleEvent>;
}

interface CalibratorOptions {
  readonly catalog: ModelCatalog;
  readonly repos: () => Promise<RegistryRepositories>;
  readonly hardware: { get(): Promise<HardwareInfo> };
  readonly samples?: MemorySamples;
  readonly log?: Logger;
  /** Samples to wait for a container's memory after a load before giving up on it (default 5). */
  readonly maxSamples?: number;
  /** Told of each measurement written (tests, logs). */
  readonly onRecorded?: (m: { runtimeId: string; model: string; measuredBytes: number; source: string }) => void;
}

interface Pending {
  readonly key: string;
  readonly lease: IDisposable;
  seen: number;
}

export class LoadCalibrator extends Disposable {
  /** Per runtime, the load last measured (model and context): each load is measured once. */
  private readonly measured = new Map<string, string>();
  private readonly pending = new Map<string, Pending>();
  private readonly log: Logger;

  constructor(private readonly o: CalibratorOptions) {
    super();
    this.log = o.log ?? silentLogger;
    this.register(o.catalog.onDidChange((ids) => ids.forEach((id) => this.check(id))));
    if (o.samples) this.register(o.samples.onDidSample((e) => this.onSample(e)));
    this.register(toDisposable(() => [...this.pending.keys()].forEach((id) => this.drop(id))));
    for (const st of o.catalog.list()) this.check(st.endpoint.id);
  }

  private check(runtimeId: string): void {
    const st = this.o.catalog.get(runtimeId);
    const loaded = st?.models.filter((m) => m.loaded) ?? [];
    const m = loaded.length === 1 ? loaded[0] : undefined;
    const ctx = m?.loaded?.contextLength ?? m?.contextLength;
    if (!st || !m || !ctx) {
      // Nothing (or several models) in memory: the next single load is measured afresh.
      this.measured.delete(runtimeId);
      this.drop(runtimeId);
      return;
    }
    const key = `${m.name}\u0000${ctx}`;
    if (this.measured.get(runtimeId) === key || this.pending.get(runtimeId)?.key === key) return;
    this.drop(runtimeId);
    const containerId = st.endpoint.containerId;
    if (containerId && this.o.samples) {
      // The sampler runs while a measurement waits: its next samples carry the container's memory.
      this.pending.set(runtimeId, { key, lease: this.o.samples.acquire('fit calibration'), seen: 0 });
      return;
    }
    const reported = (m.loaded?.ramBytes ?? 0) + (m.loaded?.vramBytes ?? 0);
    this.measured.set(runtimeId, key);
    if (reported > 0) void this.record(st, m, ctx, reported, 'runtime report');
  }

  private onSample(e: SampleEvent): void {
    for (const [runtimeId, p] of [...this.pending]) {
      const st = this.o.catalog.get(runtimeId);
      const bytes = st?.endpoint.containerId ? e.batch.values.get(`container.${st.endpoint.containerId}.memory`) : undefined;
      p.seen++;
      if (bytes === undefined || !st) {
        if (p.seen >= (this.o.maxSamples ?? 5)) this.drop(runtimeId);
        continue;
      }
      this.drop(runtimeId);
      const m = st.models.find((x) => x.loaded && `${x.name}\u0000${x.loaded.contextLength ?? x.contextLength}` === p.key);
      if (!m) continue;
      this.measured.set(runtimeId, p.key);
      void this.record(st, m, m.loaded?.contextLength ?? m.contextLength ?? 0, bytes, 'container memory');
    }
  }

  private drop(runtimeId: string): void {
    this.pending.get(runtimeId)?.lease.dispose();
    this.pending.delete(runtimeId);
  }

  private async record(st: RuntimeState, m: RuntimeModel, contextSize: number, measuredBytes: number, source: string): Promise<void> {
    try {
      const facts = await modelFactsOf(m, () => this.o.catalog.modelInfo(st.endpoint.id, m.name));
      if (!facts.sizeBytes) return;
      const kvBytes = Math.round(kvPerToken(facts).bytes * contextSize);
      const hardware = hardwareFingerprint(await this.o.hardware.get());
      const repos = await this.o.repos();
      repos.recordLoadMeasurement({ hardware, runtimeKind: st.endpoint.kind, model: m.name, contextSize, weightsBytes: facts.sizeBytes, kvBytes, measuredBytes: Math.round(measuredBytes), source });
      this.log.debug(`Fit calibration: ${m.name} on ${st.endpoint.name} at ctx ${contextSize} used ${Math.round(measuredBytes / 2 ** 20)} MiB (${source}).`);
      this.o.onRecorded?.({ runtimeId: st.endpoint.id, model: m.name, measuredBytes, source });
    } catch (e) {
      this.log.warn(`Could not record the memory ${m.name} used on ${st.endpoint.name}: ${errorMessage(e)}`);
    }
  }
}
