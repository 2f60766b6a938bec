// Benchmarks as every front end runs them: `bench.run` measures a model through its runtime's API
// (core/bench/runner.ts: pp/tg tokens/s as llama-bench names them, TTFT/TPOT/ITL/E2EL as vLLM's
// benchmark does, a concurrency sweep, repetitions until the CV is under a bound), stores each
// concurrency level with what makes it reproducible and its raw samples, and says whether the run
// is slower than this machine's history beyond its noise. `bench.history` reads them back.
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { z } from 'zod';
import { llamaBenchTestName, MAX_LLAMA_BENCH_BYTES, parseLlamaBench } from '../../core/bench/llamaBench';
import { BenchmarkAborted, isRegression, runBenchmark, type LevelResult } from '../../core/bench/runner';
import type { RegistryRepositories } from '../../core/registry/repositories';
import { CatalogError, type ModelCatalog } from '../../core/runtimes/catalog';
import { runtimeInput } from '../../core/runtimes/registrySync';
import { splitModelName } from '../../core/runtimes/runtime';
import type { HardwareInfo } from '../../core/stack/types';
import { Cancelled, defineUseCase, InvalidInput } from '../useCase';
import { modelNameSchema, runtimeIdSchema } from '../models/schemas';

export interface BenchDeps {
  readonly catalog: ModelCatalog;
  readonly repos: () => Promise<RegistryRepositories>;
  readonly hardware: { get(): Promise<HardwareInfo> };
  /** Told of each finished run (the service's webhooks send benchmark.finished). */
  readonly onFinished?: (result: BenchResult) => void;
}

/** The machine a result belongs to: CPU, cores, memory and GPUs. Results compare only within one. */
export function hardwareFingerprint(h: HardwareInfo, cpuModel = os.cpus()[0]?.model ?? 'unknown CPU'): string {
  const gib = (b: number) => `${Math.round(b / 1024 ** 3)} GiB`;
  const gpus = h.gpus.length ? h.gpus.map((g) => `${g.name} ${gib(g.memoryTotal)}`).join(' + ') : 'no GPU';
  return `${cpuModel.trim()} ×${h.cpuCores} · ${gib(h.memoryBytes)} RAM · ${gpus}`;
}

const summary = z.object({ n: z.number(), mean: z.number(), p50: z.number(), p90: z.number(), p99: z.number(), min: z.number(), max: z.number(), stddev: z.number(), cvPct: z.number() });
const levelSchema = z.object({
  concurrency: z.number(),
  rounds: z.number(),
  stoppedBy: z.enum(['cv', 'rounds', 'time']),
  requests: z.number(),
  ttftMs: summary.optional(),
  tpotMs: summary.optional(),
  itlMs: summary.optional(),
  e2elMs: summary.optional(),
  ppTps: summary.optional(),
  tgTps: summary.optional(),
  /** The CV of the mean generation speed (what cvTargetPct bounds): cvPct / √n. */
  tgMeanCvPct: z.number().optional(),
  throughputTps: z.number(),
  regression: z.object({ regression: z.boolean(), baseline: z.number().optional(), dropPct: z.number().optional(), runsBefore: z.number() }),
});
const resultSchema = z.object({
  runId: z.string(),
  runtime: z.object({ id: z.string(), name: z.string(), kind: z.string(), version: z.string().optional() }),
  model: z.object({ name: z.string(), digest: z.string().optional(), quantization: z.string().optional(), contextLength: z.number().optional(), sizeBytes: z.number().optional() }),
  hardware: z.string(),
  promptSet: z.string(),
  levels: z.array(levelSchema),
  regression: z.boolean(),
  durationMs: z.number(),
});
type BenchResult = z.infer<typeof resultSchema>;

const run = defineUseCase({
  name: 'bench.run',
  summary: 'Benchmarks a model on its runtime: prompt and generation tokens/s (llama-bench pp/tg), TTFT, TPOT, ITL and E2EL with p50/p90/p99 (vLLM), over a concurrency sweep, repeated until the CV of the generation speed is under a bound; stored with its raw samples, and compared with this machine\'s history.',
  input: z.object({
    runtimeId: runtimeIdSchema,
    name: modelNameSchema,
    concurrency: z.array(z.number().int().min(1).max(64)).min(1).max(8).default([1, 2, 4, 8]),
    promptWords: z.number().int().min(1).max(8192).default(512),
    maxTokens: z.number().int().min(1).max(4096).default(128),
    /** Rounds go on until the CV of the mean generation speed (its relative standard error) is under this. */
    cvTargetPct: z.number().positive().max(100).default(3),
    minRounds: z.number().int().min(1).max(100).default(3),
    maxRounds: z.number().int().min(1).max(100).default(10),
    maxSecondsPerLevel: z.number().positive().max(3600).default(120),
  }),
  output: resultSchema,
  run: async (deps: BenchDeps, input, o) => {
    const state = deps.catalog.get(input.runtimeId);
    if (!state) throw new CatalogError(`The runtime ${input.runtimeId} is not known; \`llmstack models ls\` lists them.`, 'not-found');
    const model = state.models.find((m) => m.name === input.name || m.name === `${input.name}:latest`);
    const started = performance.now();
    const promptSet = `pp${input.promptWords}w/tg${input.maxTokens}`;
    let r: Awaited<ReturnType<typeof runBenchmark>>;
    try {
      r = await runBenchmark(
        {
          generate: async (prompt, maxTokens, onChunk, signal) => {
            const out = await deps.catalog.generate(input.runtimeId, input.name, prompt, { maxTokens, onChunk, signal, record: false });
            return { promptTokens: out.promptTokens, outputTokens: out.outputTokens, promptMs: out.promptMs, generationMs: out.generationMs };
          },
        },
        { ...input, signal: o.signal, progress: (message, fraction) => o.progress?.({ message, fraction }) },
      );
    } catch (e) {
      if (e instanceof BenchmarkAborted) throw new Cancelled('bench.run');
      throw e;
    }
    const hardware = hardwareFingerprint(await deps.hardware.get());
    const repos = await deps.repos();
    const { name, tag } = splitModelName(input.name);
    const modelId = repos.modelIdFor(runtimeInput(state.endpoint), name, tag);
    const runtimeRowId = repos.upsertRuntime(runtimeInput(state.endpoint));
    const runId = randomUUID();
    const facts = {
      runtime: { id: state.endpoint.id, name: state.endpoint.name, kind: state.endpoint.kind, version: state.version },
      model: { name: input.name, digest: model?.digest, quantization: model?.quantization, contextLength: model?.contextLength, sizeBytes: model?.sizeBytes },
    };
    const levels = r.levels.map((l: LevelResult) => {
      const history = repos.benchmarkHistory(modelId, hardware, promptSet, l.concurrency);
      const regression = l.tgTps ? { ...isRegression(history, l.tgTps.p50), runsBefore: history.length } : { regression: false, runsBefore: history.length };
      const { samples, ...figures } = l;
      repos.recordBenchmark({
        modelId,
        runtimeId: runtimeRowId,
        hardware,
        promptSet,
        concurrency: l.concurrency,
        runId,
        ttftMs: l.ttftMs?.p50,
        promptTps: l.ppTps?.p50,
        genTps: l.tgTps?.p50,
        details: JSON.stringify({ ...facts, settings: { promptWords: input.promptWords, maxTokens: input.maxTokens, cvTargetPct: input.cvTargetPct, minRounds: input.minRounds, maxRounds: input.maxRounds }, ...figures, samples }),
      });
      return { ...figures, requests: samples.length, regression };
    });
    repos.recordUsage({ modelId, kind: 'benchmark', durationMs: Math.round(performance.now() - started), outputTokens: r.levels.reduce((a, l) => a + l.samples.reduce((b, s) => b + (s.outputTokens ?? 0), 0), 0) });
    const result: BenchResult = { runId, ...facts, hardware, promptSet, levels, regression: levels.some((l) => l.regression.regression), durationMs: performance.now() - started };
    deps.onFinished?.(result);
    return result;
  },
});

const history = defineUseCase({
  name: 'bench.history',
  summary: 'The stored benchmark runs of a model on a runtime, newest first: per concurrency level, the medians, the machine and the prompt set.',
  input: z.object({ runtimeId: runtimeIdSchema, name: modelNameSchema, limit: z.number().int().min(1).max(500).default(50) }),
  output: z.object({
    runs: z.array(z.object({ runId: z.string().nullable(), ts: z.number(), hardware: z.string(), promptSet: z.string(), concurrency: z.number(), ttftMs: z.number().nullable(), promptTps: z.number().nullable(), genTps: z.number().nullable() })),
  }),
  run: async (deps: BenchDeps, input) => {
    const rows = await modelRows(deps, input.runtimeId, input.name, input.limit);
    return { runs: rows.map((b) => ({ runId: b.run_id, ts: b.ts, hardware: b.hardware, promptSet: b.prompt_set, concurrency: b.concurrency, ttftMs: b.ttft_ms, promptTps: b.prompt_tps, genTps: b.gen_tps })) };
  },
});

/** The registry rows of a model's runs (the target runtime must be known to the catalog). */
async function modelRows(deps: BenchDeps, runtimeId: string, model: string, limit: number) {
  const state = deps.catalog.get(runtimeId);
  if (!state) throw new CatalogError(`The runtime ${runtimeId} is not known; \`llmstack models ls\` lists them.`, 'not-found');
  const repos = await deps.repos();
  const { name, tag } = splitModelName(model);
  const rt = runtimeInput(state.endpoint);
  const runtimeRow = repos.listRuntimes().find((x) => x.kind === rt.kind && x.endpoint === rt.endpoint);
  const row = runtimeRow ? repos.findModel(runtimeRow.id, name, tag) : undefined;
  return row ? (repos.benchmarks(row.id, limit) as { run_id: string | null; ts: number; hardware: string; prompt_set: string; concurrency: number; ttft_ms: number | null; prompt_tps: number | null; gen_tps: number | null; details: string | null }[]) : [];
}

const importLlamaBench = defineUseCase({
  name: 'bench.importLlamaBench',
  summary: "Imports llama-bench results (its -o json or -o jsonl output, as text) as benchmark runs of a model: each test (pp512, tg128, …) with its tokens/s, the machine llama-bench reported and the settings it ran with.",
  input: z.object({ runtimeId: runtimeIdSchema, name: modelNameSchema, text: z.string().min(1).max(MAX_LLAMA_BENCH_BYTES) }),
  output: z.object({ imported: z.number(), tests: z.array(z.string()), problems: z.array(z.string()) }),
  run: async (deps: BenchDeps, input) => {
    const state = deps.catalog.get(input.runtimeId);
    if (!state) throw new CatalogError(`The runtime ${input.runtimeId} is not known; \`llmstack models ls\` lists them.`, 'not-found');
    const { records, problems } = parseLlamaBench(input.text);
    if (!records.length) throw new InvalidInput('bench.importLlamaBench', problems);
    const repos = await deps.repos();
    const { name, tag } = splitModelName(input.name);
    const modelId = repos.modelIdFor(runtimeInput(state.endpoint), name, tag);
    const runId = `llama-bench-${randomUUID()}`;
    const tests = records.map((r) => {
      const test = llamaBenchTestName(r);
      const ts = Date.parse(r.test_time ?? '');
      repos.recordBenchmark({
        modelId,
        hardware: `llama-bench: ${(r.cpu_info ?? 'unknown CPU').trim()} · ${(r.gpu_info || 'no GPU').trim()}${r.backends ? ` · ${r.backends}` : ''}`.slice(0, 500),
        promptSet: test,
        concurrency: 1,
        runId,
        promptTps: r.n_gen === 0 ? r.avg_ts : undefined,
        genTps: r.n_prompt === 0 ? r.avg_ts : undefined,
        ts: Number.isFinite(ts) ? ts : undefined,
        details: JSON.stringify({ source: 'llama-bench', ...r }),
      });
      return test;
    });
    return { imported: records.length, tests, problems };
  },
});

const CSV_COLUMNS = ['run_id', 'ts', 'hardware', 'prompt_set', 'concurrency', 'ttft_ms', 'prompt_tps', 'gen_tps'] as const;

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const exportRuns = defineUseCase({
  name: 'bench.export',
  summary: "A model's benchmark runs as JSON (every field, the raw samples included) or CSV (one line per run and concurrency level).",
  input: z.object({ runtimeId: runtimeIdSchema, name: modelNameSchema, format: z.enum(['json', 'csv']).default('json'), limit: z.number().int().min(1).max(10_000).default(1000) }),
  output: z.object({ format: z.enum(['json', 'csv']), text: z.string(), runs: z.number() }),
  run: async (deps: BenchDeps, input) => {
    const rows = await modelRows(deps, input.runtimeId, input.name, input.limit);
    if (input.format === 'csv') {
      const lines = [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(c === 'ts' ? new Date(r.ts).toISOString() : r[c])).join(','))];
      return { format: 'csv' as const, text: `${lines.join('\r\n')}\r\n`, runs: rows.length };
    }
    const out = rows.map((r) => ({ runId: r.run_id, at: new Date(r.ts).toISOString(), hardware: r.hardware, promptSet: r.prompt_set, concurrency: r.concurrency, ttftMs: r.ttft_ms, promptTps: r.prompt_tps, genTps: r.gen_tps, details: r.details ? (JSON.parse(r.details) as unknown) : null }));
    return { format: 'json' as const, text: `${JSON.stringify({ model: input.name, runtime: input.runtimeId, runs: out }, null, 2)}\n`, runs: rows.length };
  },
});

const overviewRun = z.object({
  runId: z.string().nullable(),
  ts: z.number(),
  hardware: z.string(),
  promptSet: z.string(),
  concurrency: z.number(),
  ttftMs: z.number().nullable(),
  promptTps: z.number().nullable(),
  genTps: z.number().nullable(),
  ttftP99Ms: z.number().optional(),
  tpotMs: z.number().optional(),
  e2elMs: z.number().optional(),
  cvPct: z.number().optional(),
  throughputTps: z.number().optional(),
  /** Slower than the runs before it (same model, machine, prompt set and concurrency) beyond their noise. */
  regression: z.boolean(),
  dropPct: z.number().optional(),
});

const overview = defineUseCase({
  name: 'bench.overview',
  summary: "Every model's stored benchmark runs (the newest 5,000 rows), grouped by model, each row flagged when it is slower than the runs before it on the same machine beyond their noise: what the benchmark view charts.",
  input: z.object({ limit: z.number().int().min(1).max(5000).default(5000) }),
  output: z.object({
    models: z.array(z.object({ key: z.string(), runtimeId: z.string(), runtime: z.string(), name: z.string(), runs: z.array(overviewRun) })),
  }),
  run: async (deps: BenchDeps, input) => {
    const rows = (await deps.repos()).benchmarkOverview(input.limit);
    const models = new Map<string, { key: string; runtimeId: string; runtime: string; name: string; runs: z.infer<typeof overviewRun>[] }>();
    // Oldest first, so each row is judged against the rows before it.
    const earlier = new Map<string, number[]>();
    for (const r of [...rows].reverse()) {
      const runtimeId = `${r.runtimeKind}@${r.endpoint}`;
      const name = `${r.name}:${r.tag}`;
      const key = `${runtimeId}|${name}`;
      let m = models.get(key);
      if (!m) models.set(key, (m = { key, runtimeId, runtime: r.runtimeName, name, runs: [] }));
      const series = `${key}|${r.hardware}|${r.promptSet}|${r.concurrency}`;
      const before = earlier.get(series) ?? [];
      if (!earlier.has(series)) earlier.set(series, before);
      const verdict = r.genTps !== null ? isRegression(before.slice(-20).reverse(), r.genTps) : { regression: false };
      if (r.genTps !== null) before.push(r.genTps);
      const { name: _n, tag: _t, runtimeKind: _k, endpoint: _e, runtimeName: _r, ...run } = r;
      m.runs.push({ ...run, regression: verdict.regression, dropPct: verdict.regression ? verdict.dropPct : undefined });
    }
    // Newest first, as the rows came.
    for (const m of models.values()) m.runs.reverse();
    return { models: [...models.values()].sort((a, b) => (b.runs[0]?.ts ?? 0) - (a.runs[0]?.ts ?? 0)) };
  },
});

export const benchUseCases = [run, history, importLlamaBench, exportRuns, overview] as const;
