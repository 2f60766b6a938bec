// Benchmark "fit": how good the "will it fit here" estimate is, how stable a benchmark run gets,
// and what a year of heavy use leaves in the registry.
//
//   npm run bench -- fit
//
// - fit.ramErrorPct: real llama.cpp (the test runtime, one fresh process per load) loads generated
//   GGUF models of three sizes at three contexts; the memory each process holds once the model
//   answered (its resident set, /proc/PID/status VmRSS) is the measurement. Each load is estimated
//   as models.fit does (weights from the file, KV cache from the GGUF header and the context, the
//   overhead calibrated on the other loads: leave one out) and the median absolute error is
//   reported, with the error of the uncalibrated default overhead beside it.
// - bench.cvPct: bench.run on the test runtime (tg128) with a 3 % CV target: the CV of the mean
//   generation speed it reached (what the target bounds), in how many rounds, what stopped it, and
//   the per-request CV (this machine's noise) beside it.
// - registry.yearOpenMs / yearMemoryMB: 100,000 models and 1,000,000 usage events spread over a
//   year, after the retention pass rolled the raw events older than 30 days into daily totals (and
//   rebuilt the file): the median open time, and the memory a fresh process holds after opening it.
//
// Env: BENCH_FIT_MODELS / BENCH_FIT_EVENTS (registry data set), BENCH_FIT_SKIP=ram,cv,registry.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { fitModel } from '../src/app/bench/fit';
import { benchUseCases, type BenchDeps } from '../src/app/bench/useCases';
import { call } from '../src/app/useCase';
import { calibrate, DEFAULT_OVERHEAD_BYTES } from '../src/core/bench/fit';
import { Registry } from '../src/core/registry/registry';
import { RegistryRepositories } from '../src/core/registry/repositories';
import { ModelCatalog } from '../src/core/runtimes/catalog';
import { RegistrySync } from '../src/core/runtimes/registrySync';
import type { RuntimeEndpoint } from '../src/core/runtimes/runtime';
import { HardwareProbe } from '../src/core/stack/hardware';
import { kvPerToken, modelFactsFromGguf } from '../src/core/stack/resolve';
import { writeTinyGguf } from '../test/support/gguf';
import { startRuntimeProcess } from '../test/support/runtimeProcess';
import { envNumber } from './lib/params';
import { collectGarbage, round } from './lib/stats';
import { buildDataSet, runMemoryChild } from './registry';

const log = (m: string) => process.stderr.write(`[bench:fit] ${m}\n`);
const MB = 2 ** 20;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

const MODELS = [
  { name: 'small', embedding: 256, layers: 4, feedForward: 768 },
  { name: 'medium', embedding: 512, layers: 8, feedForward: 1536 },
  { name: 'large', embedding: 768, layers: 12, feedForward: 2048 },
];
const CONTEXTS = [512, 2048, 8192];

async function ramError(dir: string): Promise<Record<string, unknown>> {
  const models = path.join(dir, 'models');
  fs.mkdirSync(models, { recursive: true });
  for (const m of MODELS) writeTinyGguf(path.join(models, `${m.name}__1b.gguf`), { name: m.name, embedding: m.embedding, layers: m.layers, feedForward: m.feedForward, heads: 8, contextLength: 8192, seed: 5 });
  const loads: { model: string; contextSize: number; weightsBytes: number; kvBytes: number; measuredBytes: number; idleBytes: number }[] = [];
  for (const m of MODELS) {
    const file = path.join(models, `${m.name}__1b.gguf`);
    const facts = await modelFactsFromGguf(file);
    if (!facts?.sizeBytes) throw new Error(`no facts for ${file}`);
    for (const contextSize of CONTEXTS) {
      // A fresh process per load: memory a process once held is not always given back.
      const rt = await startRuntimeProcess({ modelsDir: models });
      try {
        const pid = rt.process.pid!;
        const idleBytes = rssBytes(pid);
        const res = await fetch(`${rt.base}/api/generate`, {
          method: 'POST',
          body: JSON.stringify({ model: `${m.name}:1b`, prompt: 'hello there', stream: false, keep_alive: -1, options: { num_ctx: contextSize, num_predict: 4 } }),
          signal: AbortSignal.timeout(120_000),
        });
        if (!res.ok) throw new Error(`generate answered ${res.status}: ${await res.text()}`);
        await res.json();
        const ps = (await (await fetch(`${rt.base}/api/ps`, { signal: AbortSignal.timeout(10_000) })).json()) as { models: { context_length: number }[] };
        if (ps.models[0]?.context_length !== contextSize) throw new Error(`${m.name} loaded with ctx ${ps.models[0]?.context_length}, asked ${contextSize}`);
        const measuredBytes = rssBytes(pid);
        const kvBytes = Math.round(kvPerToken(facts).bytes * contextSize);
        loads.push({ model: m.name, contextSize, weightsBytes: facts.sizeBytes, kvBytes, measuredBytes, idleBytes });
        log(`${m.name} ctx ${contextSize}: weights ${round(facts.sizeBytes / MB, 1)} MiB, KV ${round(kvBytes / MB, 1)} MiB, measured ${round(measuredBytes / MB, 1)} MiB (idle process ${round(idleBytes / MB, 1)} MiB)`);
      } finally {
        await rt.stop();
      }
    }
  }
  const cal = calibrate(loads);
  if (!cal) throw new Error('no loads measured');
  const defaultErrors = loads.map((l) => (Math.abs(l.weightsBytes + l.kvBytes + DEFAULT_OVERHEAD_BYTES - l.measuredBytes) / l.measuredBytes) * 100);
  return {
    ramErrorPct: cal.errorPct ?? null,
    ramErrorUncalibratedPct: round(median(defaultErrors), 1),
    calibratedOverheadMB: round(cal.overheadBytes / MB, 1),
    loads: loads.map((l) => ({ ...l, estimateBytes: l.weightsBytes + l.kvBytes + cal.overheadBytes })),
    note: 'measured = resident set of the test runtime (node + llama.cpp) after the model answered; estimate = weights + KV cache (f16, from the GGUF header) + overhead; ramErrorPct = median |estimate − measured| / measured with the overhead calibrated on the other loads (leave one out).',
  };
}

async function cvReached(dir: string): Promise<Record<string, unknown>> {
  const models = path.join(dir, 'cv-models');
  fs.mkdirSync(models, { recursive: true });
  writeTinyGguf(path.join(models, 'bench__1b.gguf'), { name: 'bench', embedding: 256, layers: 4, contextLength: 1024, seed: 17 });
  const rt = await startRuntimeProcess({ modelsDir: models });
  const registry = await Registry.open({ file: path.join(dir, 'cv.sqlite'), persistDelayMs: 60_000 });
  const repos = new RegistryRepositories(registry);
  const sync = new RegistrySync(() => Promise.resolve(repos));
  const catalog = new ModelCatalog({ hooks: { onListing: (e, l) => sync.onListing(e, l), onUsage: (e, m, k, d) => sync.onUsage(e, m, k, d) } });
  try {
    const ep: RuntimeEndpoint = { id: `ollama@${rt.base}`, kind: 'ollama', api: 'ollama', name: 'bench-rt', baseUrl: rt.base, source: 'user' };
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 60_000);
    const deps: BenchDeps = { catalog, repos: () => Promise.resolve(repos), hardware: new HardwareProbe({}) };
    const [run] = benchUseCases;
    // tg128 as llama-bench; a short prompt keeps prompt and answer inside the runtime's 512-token context.
    const r = await call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1], promptWords: 32, maxTokens: 128, cvTargetPct: 3, minRounds: 3, maxRounds: 60, maxSecondsPerLevel: 120 });
    const level = r.levels[0];
    const fit = await call(fitModel, deps, { runtimeId: ep.id, name: 'bench:1b', contextSize: 1024 });
    return {
      cvPct: level.tgMeanCvPct !== undefined ? round(level.tgMeanCvPct, 2) : null,
      perRequestCvPct: level.tgTps ? round(level.tgTps.cvPct, 2) : null,
      rounds: level.rounds,
      stoppedBy: level.stoppedBy,
      tgTpsP50: level.tgTps ? round(level.tgTps.p50, 1) : null,
      ttftMsP50: level.ttftMs ? round(level.ttftMs.p50, 1) : null,
      fitText: fit.fit.text,
      speedText: fit.speed?.text ?? null,
    };
  } finally {
    catalog.dispose();
    await registry.close();
    await rt.stop();
  }
}

async function registryYear(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, 'year.sqlite');
  const models = envNumber('BENCH_FIT_MODELS', 100_000);
  const events = envNumber('BENCH_FIT_EVENTS', 1_000_000);
  const workingSet = envNumber('BENCH_FIT_WORKING_SET', 300);
  const data = await buildDataSet(file, models, 1, events, { workingSet });
  const before = fs.statSync(file).size;
  log(`built ${data.models} models and ${data.events} events: ${round(before / MB, 1)} MB`);
  const t0 = performance.now();
  const registry = await Registry.open({ file, persistDelayMs: 3_600_000 });
  const repos = new RegistryRepositories(registry, () => data.now);
  const pruned = repos.prune(data.now);
  await registry.vacuum();
  const counts = registry.counts();
  await registry.close();
  const retentionMs = performance.now() - t0;
  const after = fs.statSync(file).size;
  log(`retention rolled ${pruned.usage} events into ${pruned.rolledUp} daily totals in ${Math.round(retentionMs)} ms: ${round(after / MB, 1)} MB`);
  const opens: number[] = [];
  // What an open is made of: reading the whole file (sql.js holds it), and the snapshot's CRC-32.
  const reads: number[] = [];
  const crcs: number[] = [];
  for (let i = 0; i < 7; i++) {
    await collectGarbage();
    let t = performance.now();
    const bytes = await fs.promises.readFile(file);
    reads.push(performance.now() - t);
    t = performance.now();
    crc32(bytes);
    crcs.push(performance.now() - t);
    await collectGarbage();
    t = performance.now();
    const r = await Registry.open({ file, persistDelayMs: 3_600_000 });
    opens.push(performance.now() - t);
    await r.close();
  }
  const mem = await runMemoryChild(file, data.now);
  const rssMB = round((mem.afterOpen.rss - mem.baseline.rss) / MB, 1);
  return {
    yearOpenMs: round(median(opens.slice(1))),
    yearMemoryMB: rssMB,
    openColdMs: round(mem.openColdMs),
    openParts: { readFileMs: round(median(reads.slice(1))), crcMs: round(median(crcs.slice(1))) },
    fileMBBefore: round(before / MB, 1),
    fileMBAfter: round(after / MB, 1),
    retentionMs: round(retentionMs),
    rolledUp: { rawEventsRemoved: pruned.usage, dailyRows: pruned.rolledUp, rawEventsKept: counts.usage_events },
    dataset: { models: data.models, versionsPerModel: 1, events: data.events, spreadDays: 365, rawDays: 30, workingSet },
    tables: tableSizes(file),
    note: 'open = Registry.open (file read, journal check, schema) median of 6 after one warm-up, in this process; memory = rss delta after open in a fresh process (--expose-gc), as bench registry measures it.',
  };
}

/** Megabytes per table and index (native SQLite's dbstat, read only), largest first. */
function tableSizes(file: string): Record<string, number> | string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Native = require('better-sqlite3') as new (f: string, o: { readonly: boolean }) => { prepare(s: string): { all(): { name: string; mb: number }[] }; close(): void };
    const db = new Native(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT name, round(sum(pgsize) / 1048576.0, 2) AS mb FROM dbstat GROUP BY name HAVING mb >= 0.1 ORDER BY mb DESC').all();
      return Object.fromEntries(rows.map((r) => [r.name, r.mb]));
    } finally {
      db.close();
    }
  } catch (e) {
    return `dbstat unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const skip = new Set((process.env.BENCH_FIT_SKIP ?? '').split(',').filter(Boolean));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-bench-fit-'));
  const out: Record<string, unknown> = {};
  try {
    const fit = skip.has('ram') ? undefined : await ramError(dir);
    const cv = skip.has('cv') ? undefined : await cvReached(dir);
    const reg = skip.has('registry') ? undefined : await registryYear(dir);
    out['fit.ramErrorPct'] = fit?.ramErrorPct ?? null;
    out['bench.cvPct'] = cv?.cvPct ?? null;
    out['registry.yearOpenMs'] = reg?.yearOpenMs ?? null;
    out['registry.yearMemoryMB'] = reg?.yearMemoryMB ?? null;
    const target = (value: unknown, goal: number, unit: string) => ({ target: `<= ${goal} ${unit}`, value, met: typeof value === 'number' && value <= goal });
    out.targets = {
      'fit.ramErrorPct': target(out['fit.ramErrorPct'], 10, '%'),
      'bench.cvPct': target(out['bench.cvPct'], 3, '%'),
      'registry.yearOpenMs': target(out['registry.yearOpenMs'], 100, 'ms'),
      'registry.yearMemoryMB': target(out['registry.yearMemoryMB'], 60, 'MB'),
    };
    out.fit = fit ?? null;
    out.bench = cv ?? null;
    out.registry = reg ?? null;
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
