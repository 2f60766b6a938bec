// The sampler without an engine: held-only sampling, nvidia-smi lifecycle, simulated clock, series changes, exports.
import * as assert from 'node:assert/strict';
import { Emitter } from '../../../../src/core/lifecycle';
import { formatPrometheus } from '../../../../src/core/metrics/exposition';
import type { RuntimeInfo } from '../../../../src/core/metrics/models';
import { MetricsSampler, SampleEvent, SamplerTimers } from '../../../../src/core/metrics/sampler';
import type { SeriesInfo } from '../../../../src/core/metrics/types';
import { parsePrometheus } from '../../../../src/core/runtimes/openai';
import { gpuStatusSchema, toPanelSchema } from '../../../../src/shared/metricsProtocol';
import { waitUntil } from '../../../support/engine';
import { isAlive, nvidiaSmiStandIn, StandIn } from '../../../support/nvidiaSmiStandIn';
import { steadyHost, testEndpoint } from '../../../support/fixtures';

const H100 = '0, GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c, NVIDIA H100 80GB HBM3, 87, 61327, 81559, 64, 512.38';


/** Timers that fire only when the test says so. */
class ManualTimers implements SamplerTimers {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  readonly delays: number[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    this.delays.push(ms);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  fireAll(): void {
    const due = [...this.pending];
    this.pending.clear();
    for (const [, t] of due) t.fn();
  }
}

describe('metrics sampler (unit)', function () {
  this.timeout(20_000);
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const sampler = (o: ConstructorParameters<typeof MetricsSampler>[0]) => {
    const s = new MetricsSampler(o);
    cleanups.push(() => s.dispose());
    return s;
  };
  const standIn = (o: Parameters<typeof nvidiaSmiStandIn>[0]) => {
    const s = nvidiaSmiStandIn(o);
    cleanups.push(() => s.dispose());
    return s;
  };

  it('samples only while held: nothing before acquire, nothing after the last release', async () => {
    const smi: StandIn = standIn({ gpuLines: [H100], appLines: [] });
    const s = sampler({ intervalMs: 100, nvidia: { binary: smi.binary } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.samplesTaken, 0);
    assert.equal(await s.sampleNow(), undefined, 'no sample on demand while nobody looks');
    assert.deepEqual(smi.starts(), [], 'nvidia-smi is not started before anyone looks');

    const panel = s.acquire('panel');
    const status = s.acquire('status bar');
    assert.equal(s.isRunning, true);
    assert.deepEqual(s.reasons, ['panel', 'status bar']);
    await waitUntil('a few samples with the GPU', () => s.samplesTaken >= 3 && s.store.has('gpu.0.util'), 10_000);
    assert.ok(s.store.has('host.memory') && s.store.has('host.cpu'), s.store.keys().join(','));
    assert.deepEqual(s.gpuStatus, { kind: 'ok', gpus: 1 });

    panel.dispose();
    panel.dispose();
    assert.equal(s.isRunning, true, 'still held by the status bar');
    const pids = (s as unknown as { nvidia: { childPids: number[] } }).nvidia.childPids;
    assert.equal(pids.length, 2);
    status.dispose();
    assert.equal(s.isRunning, false);
    const taken = s.samplesTaken;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(s.samplesTaken, taken, 'no samples after the last release');
    for (const pid of pids) await waitUntil(`nvidia-smi ${pid} to be killed`, () => !isAlive(pid), 3000);
  });

  it('runs on a simulated clock: one timer at a time, the interval between ticks, none after release', async () => {
    const timers = new ManualTimers();
    let now = 1_700_000_000_000;
    const s = sampler({ intervalMs: 1000, historyMinutes: 1, now: () => now, timers, nvidia: false, host: { source: steadyHost() } });
    const events: SampleEvent[] = [];
    s.onDidSample((e) => events.push(e));
    const hold = s.acquire('benchmark');
    for (let i = 0; i < 90; i++) {
      assert.equal(timers.pending.size, 1, 'exactly one timer pending');
      timers.fireAll();
      await waitUntil('the tick', () => events.length === i + 1, 2000, 1);
      await new Promise((r) => setImmediate(r));
      now += 1000;
    }
    assert.equal(s.samplesTaken, 90);
    assert.deepEqual(new Set(timers.delays.slice(1)), new Set([1000]));
    // One minute of history (plus one spare point per minute) is all that is kept.
    assert.equal(s.store.ring('host.memory')!.length, 61);
    assert.equal(events[0].added.map((a) => a.key).join(','), 'host.memory,host.disk');
    assert.deepEqual(events[1].added.map((a) => a.key), ['host.cpu', 'host.net.rx', 'host.net.tx']);
    assert.equal(events[5].batch.values.get('host.cpu'), 25);
    assert.equal(events[5].batch.values.get('host.memory'), 6e9);
    hold.dispose();
    assert.equal(timers.pending.size, 0, 'the timer is cleared on release');
    assert.equal(await s.sampleNow(), undefined);
    assert.equal(s.samplesTaken, 90);
  });

  it('says plainly when there is no NVIDIA GPU, in a shape the panel accepts', async () => {
    const s = sampler({ intervalMs: 100, nvidia: { binary: '/nonexistent/nvidia-smi' }, host: { source: steadyHost() } });
    const seen: unknown[] = [];
    s.onDidChangeGpuStatus((g) => seen.push(g));
    const h = s.acquire('panel');
    await waitUntil('absent', () => s.gpuStatus.kind === 'absent', 5000);
    assert.deepEqual(s.gpuStatus, { kind: 'absent', message: 'No NVIDIA GPU found: nvidia-smi is not installed (not on PATH).' });
    assert.ok(gpuStatusSchema.safeParse(s.gpuStatus).success);
    assert.deepEqual(seen, [s.gpuStatus]);
    await waitUntil('samples', () => s.samplesTaken >= 2, 5000);
    assert.ok(!s.store.keys().some((k) => k.startsWith('gpu.')));
    h.dispose();
    assert.deepEqual(sampler({ nvidia: false }).gpuStatus, { kind: 'absent', message: 'GPU metrics are turned off.' });
  });

  it('charts recorded generations per model and removes their series with the runtime', async () => {
    const changed = new Emitter<string[]>();
    let runtimes: RuntimeInfo[] = [{ endpoint: testEndpoint('ollama', 'http://x', { id: 'ollama@x', name: 'ollama', source: 'container' }), models: [] }];
    const catalog = { list: () => runtimes, onDidChange: changed.event };
    const s = sampler({ nvidia: false, catalog, host: { source: steadyHost() }, timers: new ManualTimers() });
    s.acquire('panel');
    s.recordGeneration('ollama@x', 'llama3.2:1b', 100, 2000);
    const e1 = (await s.sampleNow())!;
    const key = 'model.ollama@x\u0000llama3.2:1b.tps';
    assert.equal(e1.batch.values.get(key), 50);
    assert.deepEqual(e1.added.find((a) => a.key === key), { key, group: 'model', entity: 'llama3.2:1b · ollama', entityId: 'ollama@x\u0000llama3.2:1b', metric: 'tps', unit: 'tok/s' });
    runtimes = [];
    changed.fire(['ollama@x']);
    const e2 = (await s.sampleNow())!;
    assert.deepEqual(e2.removed, [key]);
    assert.equal(s.store.has(key), false);
  });

  it('exports the latest values as Prometheus text that parses back, and a JSON snapshot', async () => {
    const smi = standIn({ gpuLines: [H100], appLines: [] });
    const s = sampler({ intervalMs: 100, nvidia: { binary: smi.binary }, host: { source: steadyHost() } });
    const h = s.acquire('panel');
    await waitUntil('GPU and CPU series', () => s.store.has('gpu.0.power') && s.store.has('host.cpu'), 10_000);
    h.dispose();
    const text = s.toPrometheus();
    assert.match(text, /(^|\n)# HELP llmstack_host_cpu_percent CPU use of this machine over all cores\.\n# TYPE llmstack_host_cpu_percent gauge\nllmstack_host_cpu_percent 25\n/);
    assert.match(text, /\nllmstack_gpu_power_watts\{gpu="0",uuid="GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c",name="NVIDIA H100 80GB HBM3"\} 512\.38\n/);
    const parsed = parsePrometheus(text);
    assert.equal(parsed.get('llmstack_host_memory_bytes'), 6e9);
    assert.equal(parsed.get('llmstack_gpu_memory_bytes{gpu="0",uuid="GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c",name="NVIDIA H100 80GB HBM3"}'), 61327 * 1024 * 1024);
    // Every family has exactly one HELP and one TYPE line, before its samples.
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE'));
    assert.equal(new Set(types).size, types.length);

    const snap = JSON.parse(s.snapshotJson(60_000));
    assert.deepEqual(snap.gpu, { kind: 'ok', gpus: 1 });
    const cpu = snap.series.find((x: { key: string }) => x.key === 'host.cpu');
    assert.equal(cpu.last.value, 25);
    assert.equal(snap.window.columns.length, snap.series.length);
    const init = toPanelSchema.safeParse({ type: 'init', windowMinutes: 1, paused: false, gpu: snap.gpu, series: snap.series, t: snap.window.t, columns: snap.window.columns });
    assert.ok(init.success, init.success ? '' : init.error.message);
  });

  it('formats labels with escapes and groups samples by family', () => {
    const container = (id: string, name: string): SeriesInfo => ({ key: `container.${id}.cpu`, group: 'container', entity: name, entityId: id, metric: 'cpu', unit: '%' });
    const text = formatPrometheus([
      { info: container('a', 'web'), labels: { container: 'web', container_id: 'a' }, t: 1, value: 12.3456789 },
      { info: { key: 'host.cpu', group: 'host', entity: 'this machine', entityId: 'host', metric: 'cpu', unit: '%' }, labels: {}, t: 1, value: 3 },
      { info: container('b', 'we"ird\\name'), labels: { container: 'we"ird\\name', container_id: 'b' }, t: 1, value: 0 },
    ]);
    assert.equal(
      text,
      [
        '# HELP llmstack_container_cpu_percent Container CPU use in percent of one core, as docker stats shows it.',
        '# TYPE llmstack_container_cpu_percent gauge',
        'llmstack_container_cpu_percent{container="web",container_id="a"} 12.345679',
        'llmstack_container_cpu_percent{container="we\\"ird\\\\name",container_id="b"} 0',
        '# HELP llmstack_host_cpu_percent CPU use of this machine over all cores.',
        '# TYPE llmstack_host_cpu_percent gauge',
        'llmstack_host_cpu_percent 3',
        '',
      ].join('\n'),
    );
    assert.equal(parsePrometheus(text).get('llmstack_container_cpu_percent{container="we\\"ird\\\\name",container_id="b"}'), 0);
    assert.equal(formatPrometheus([]), '');
  });
});
