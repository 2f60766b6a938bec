// Benchmarks on the real test runtime (llama.cpp behind Ollama's API) and a real sql.js registry:
// a run stored with every field and its raw samples, repetitions stopped by the CV bound or by the
// round bound, a concurrency sweep that shows requests queueing, a regression flagged against the
// machine's history, and cancellation.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fitModel, recommendModels, unusedModels } from '../../../src/app/bench/fit';
import { benchUseCases, hardwareFingerprint, type BenchDeps } from '../../../src/app/bench/useCases';
import { ggufFolderEndpoint } from '../../../src/core/runtimes/ggufFolder';
import { call, Cancelled } from '../../../src/app/useCase';
import { summarize } from '../../../src/core/bench/stats';
import { RegistryRepositories } from '../../../src/core/registry/repositories';
import { ModelCatalog } from '../../../src/core/runtimes/catalog';
import { RegistrySync } from '../../../src/core/runtimes/registrySync';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';
import { HardwareProbe } from '../../../src/core/stack/hardware';
import { modelFactsFromGguf } from '../../../src/core/stack/resolve';
import { writeTinyGguf } from '../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { llamaBenchRecord } from '../../support/llamaBench';
import { Sandbox } from '../../unit/core/registry/support';

const [run, history, importLlamaBench, exportRuns, overview] = benchUseCases;

describe('benchmarks on the real test runtime (integration)', function () {
  this.timeout(180_000);
  const box = new Sandbox();
  let rt: RuntimeProcess;
  let repos: RegistryRepositories;
  let catalog: ModelCatalog;
  let deps: BenchDeps;
  let ep: RuntimeEndpoint;
  const finished: string[] = [];
  const small = { promptWords: 48, maxTokens: 8 };

  let modelsDir: string;

  before(async () => {
    const dir = box.dir();
    modelsDir = path.join(dir, 'models');
    fs.mkdirSync(path.join(dir, 'models'));
    writeTinyGguf(path.join(dir, 'models', 'bench__1b.gguf'), { name: 'bench', contextLength: 256, seed: 17 });
    rt = await startRuntimeProcess({ modelsDir: path.join(dir, 'models') });
    const registry = await box.registry({ file: path.join(box.dir(), 'registry.sqlite'), persistDelayMs: 60_000 });
    repos = new RegistryRepositories(registry);
    const sync = new RegistrySync(() => Promise.resolve(repos));
    catalog = new ModelCatalog({ hooks: { onListing: (e, l) => sync.onListing(e, l), onUsage: (e, m, k, d) => sync.onUsage(e, m, k, d) } });
    ep = { id: `ollama@${rt.base}`, kind: 'ollama', api: 'ollama', name: 'bench-rt', baseUrl: rt.base, source: 'user' };
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 60_000);
    deps = { catalog, repos: () => Promise.resolve(repos), hardware: new HardwareProbe({}), onFinished: (r) => finished.push(r.runId) };
  });
  after(async () => {
    catalog?.dispose();
    await rt?.stop();
    await box.cleanup();
  });

  it('stores a run with every field and its raw samples, one row per concurrency level', async () => {
    const r = await call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1, 2], cvTargetPct: 100, minRounds: 2, ...small });
    assert.deepEqual(finished, [r.runId]);
    assert.deepEqual([r.runtime.name, r.runtime.kind, r.model.name, r.promptSet], ['bench-rt', 'ollama', 'bench:1b', 'pp48w/tg8']);
    assert.match(r.runtime.version ?? '', /^\d+\.\d+\.\d+$/);
    assert.match(r.model.digest ?? '', /^[0-9a-f]{64}$/);
    assert.equal(r.hardware, hardwareFingerprint(await new HardwareProbe({}).get()));
    for (const l of r.levels) {
      assert.deepEqual([l.rounds, l.stoppedBy, l.requests], [2, 'cv', 2 * l.concurrency]);
      for (const k of ['ttftMs', 'tpotMs', 'itlMs', 'e2elMs', 'ppTps', 'tgTps'] as const) assert.ok(l[k] && l[k].p50 > 0 && l[k].p99 >= l[k].p50, `${k} at ${l.concurrency}: ${JSON.stringify(l[k])}`);
      assert.ok(l.throughputTps > 0);
      assert.equal(l.regression.runsBefore, 0);
    }
    const rows = repos.db.all<{ run_id: string; concurrency: number; gen_tps: number; ttft_ms: number; prompt_tps: number; details: string }>('SELECT run_id, concurrency, gen_tps, ttft_ms, prompt_tps, details FROM benchmark_results ORDER BY concurrency');
    assert.deepEqual(rows.map((x) => [x.run_id, x.concurrency]), [[r.runId, 1], [r.runId, 2]]);
    const details = JSON.parse(rows[1].details) as { samples: { outputTokens: number; ttftMs: number; itlMs: number[]; tgTps: number }[]; settings: { maxTokens: number }; runtime: { version: string }; model: { digest: string } };
    assert.equal(details.samples.length, 4);
    assert.ok(details.samples.every((s) => s.outputTokens > 0 && s.outputTokens <= 8 && s.ttftMs > 0 && s.tgTps > 0));
    assert.equal(rows[1].gen_tps, summarize(details.samples.map((s) => s.tgTps))!.p50, 'the row keeps the median of its samples');
    assert.deepEqual([details.settings.maxTokens, details.runtime.version, details.model.digest], [8, r.runtime.version, r.model.digest]);
    const h = await call(history, deps, { runtimeId: ep.id, name: 'bench:1b' });
    assert.deepEqual(h.runs.map((x) => x.concurrency).sort(), [1, 2]);
    // One usage event for the whole run, of kind benchmark; none per request.
    const kinds = repos.db.all<{ kind: string; n: number }>('SELECT kind, count(*) AS n FROM usage_events GROUP BY kind');
    assert.deepEqual(kinds, [{ kind: 'benchmark', n: 1 }]);
  });

  it('an OpenAI-compatible server (llama.cpp\'s API) is measured from its stream: TTFT from the first chunk, speeds from its timings', async () => {
    const oep: RuntimeEndpoint = { id: `llamacpp@${rt.base}`, kind: 'llamacpp', api: 'openai', name: 'bench-llamacpp', baseUrl: rt.base, source: 'user' };
    catalog.setEndpoints([ep, oep]);
    try {
      await catalog.waitFor((c) => c.get(oep.id)?.status === 'ok', 60_000);
      const r = await call(run, deps, { runtimeId: oep.id, name: 'bench:1b', concurrency: [1], cvTargetPct: 100, minRounds: 2, ...small });
      const l = r.levels[0];
      assert.equal(l.requests, 2);
      for (const k of ['ttftMs', 'e2elMs', 'ppTps', 'tgTps'] as const) assert.ok(l[k] && l[k].p50 > 0, `${k}: ${JSON.stringify(l[k])}`);
      assert.ok(l.ttftMs!.p50 <= l.e2elMs!.p50, 'the first token came before the end');
      const row = repos.db.get<{ details: string }>('SELECT details FROM benchmark_results WHERE run_id = ?', [r.runId])!;
      const samples = (JSON.parse(row.details) as { samples: { ttftMs: number; e2elMs: number; outputTokens: number }[] }).samples;
      assert.ok(samples.every((x) => x.ttftMs > 0 && x.ttftMs <= x.e2elMs && x.outputTokens > 0), JSON.stringify(samples));
    } finally {
      catalog.setEndpoints([ep]);
    }
  });

  it('a concurrency sweep shows queueing: the runtime serves one request at a time, so at 2 one waits for the other', async () => {
    const r = await call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1, 2], cvTargetPct: 0.0001, minRounds: 4, maxRounds: 4, promptWords: 16, maxTokens: 48 });
    const row = repos.db.get<{ details: string }>('SELECT details FROM benchmark_results WHERE run_id = ? AND concurrency = 2', [r.runId])!;
    const samples = (JSON.parse(row.details) as { samples: { ttftMs: number; e2elMs: number }[] }).samples;
    assert.equal(samples.length, 8);
    // The two requests of a round start together; served one at a time, the second's first token
    // comes only once the first has finished (less the answer's way back): whatever the load on
    // the machine, its TTFT is about the other's whole E2EL. Served side by side it would be a
    // small part of it.
    for (let i = 0; i < samples.length; i += 2) {
      const [a, b] = [samples[i], samples[i + 1]];
      const waited = Math.max(a.ttftMs, b.ttftMs);
      const first = Math.min(a.e2elMs, b.e2elMs);
      assert.ok(waited >= 0.8 * first, `round ${i / 2 + 1}: the later first token at ${waited.toFixed(1)} ms, the first request done at ${first.toFixed(1)} ms`);
    }
    // At 1 nothing waits: a first token well before the end.
    assert.ok(r.levels[0].ttftMs!.p50 < 0.5 * r.levels[0].e2elMs!.p50, JSON.stringify([r.levels[0].ttftMs, r.levels[0].e2elMs]));
  });

  it('stops at the round bound when the CV stays above the target, at each level of the sweep', async () => {
    const r = await call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1, 3], cvTargetPct: 0.0001, minRounds: 2, maxRounds: 3, promptWords: 48, maxTokens: 24 });
    assert.deepEqual(r.levels.map((l) => [l.rounds, l.stoppedBy]), [[3, 'rounds'], [3, 'rounds']]);
    // Each level has its own figures from its own requests: three at a time made three samples a round.
    const row = repos.db.get<{ details: string }>('SELECT details FROM benchmark_results WHERE run_id = ? AND concurrency = 3', [r.runId])!;
    const samples = (JSON.parse(row.details) as { samples: { e2elMs: number; ttftMs: number }[] }).samples;
    assert.equal(samples.length, 9);
    assert.equal(r.levels[1].requests, 9);
    assert.ok(r.levels.every((l) => l.throughputTps > 0 && l.e2elMs!.n === l.requests));
  });

  it('flags a run slower than the history on this machine beyond its noise', async () => {
    // Its own prompt set: the history is this test's alone.
    const own = { promptWords: 40, maxTokens: 8 };
    const first = await call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1], cvTargetPct: 100, minRounds: 2, ...own });
    assert.equal(first.regression, false, 'no history, no regression');
    const measured = first.levels[0].tgTps!.p50;
    const modelId = repos.findModel(repos.listRuntimes().find((x) => x.kind === 'ollama')!.id, 'bench', '1b')!.id;
    // Earlier runs on this machine twenty times as fast, with a little noise (far beyond what a
    // loaded machine changes between two runs).
    for (const f of [20, 20.5, 19.5, 20.2, 19.8, 20, 20.5, 19.5]) repos.recordBenchmark({ modelId, hardware: first.hardware, promptSet: first.promptSet, concurrency: 1, genTps: measured * f });
    const r = await call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1], cvTargetPct: 100, minRounds: 2, ...own });
    assert.equal(r.regression, true);
    assert.ok(r.levels[0].regression.dropPct! > 50, JSON.stringify(r.levels[0].regression));
    assert.equal(r.levels[0].regression.runsBefore, 9);
  });

  it('bench.overview: every model\'s runs newest first, with the figures of their details and the regression flagged on the slow run only', async () => {
    const o = await call(overview, deps, {});
    const m = o.models.find((x) => x.key === `ollama@${rt.base}|bench:1b`)!;
    assert.ok(m, o.models.map((x) => x.key).join());
    assert.deepEqual([m.runtimeId, m.runtime, m.name], [ep.id, 'bench-rt', 'bench:1b']);
    assert.deepEqual(m.runs.map((r) => r.ts), [...m.runs.map((r) => r.ts)].sort((a, b) => b - a), 'newest first');
    // The regression test above: its own prompt set, a history twenty times as fast, then the slow run.
    const own = m.runs.filter((r) => r.promptSet === 'pp40w/tg8');
    const flagged = own.filter((r) => r.regression);
    assert.equal(flagged.length, 1, JSON.stringify(own.map((r) => [r.genTps, r.regression])));
    assert.equal(flagged[0].runId, own[0].runId, 'the newest, slow run');
    assert.ok(flagged[0].dropPct! > 50);
    const stored = m.runs.find((r) => r.runId && !r.runId.startsWith('llama-bench') && r.e2elMs !== undefined)!;
    assert.ok(stored.ttftP99Ms! >= stored.ttftMs! && stored.cvPct! >= 0 && stored.throughputTps! > 0, JSON.stringify(stored));
  });

  it('cancels when the signal aborts, and refuses an unknown runtime', async () => {
    const ac = new AbortController();
    const p = call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1], cvTargetPct: 0.0001, maxRounds: 50, ...small }, { signal: ac.signal, progress: (x) => x.message?.includes('round 1') && ac.abort() });
    await assert.rejects(p, (e: unknown) => e instanceof Cancelled);
    await assert.rejects(call(run, deps, { runtimeId: 'ollama@http://127.0.0.1:1', name: 'bench:1b' }), /is not known/);
  });

  it('imports llama-bench results as runs of the model, and exports the runs as JSON and CSV', async () => {
    await call(run, deps, { runtimeId: ep.id, name: 'bench:1b', concurrency: [1], cvTargetPct: 100, minRounds: 1, ...small });
    const text = JSON.stringify([llamaBenchRecord(512, 0, 180.5), llamaBenchRecord(0, 128, 21.25)]);
    const imported = await call(importLlamaBench, deps, { runtimeId: ep.id, name: 'bench:1b', text });
    assert.deepEqual(imported, { imported: 2, tests: ['pp512', 'tg128'], problems: [] });
    const h = await call(history, deps, { runtimeId: ep.id, name: 'bench:1b', limit: 500 });
    const fromFile = h.runs.filter((x) => x.hardware.startsWith('llama-bench: AMD EPYC 7B13'));
    assert.deepEqual(fromFile.map((x) => [x.promptSet, x.promptTps, x.genTps, new Date(x.ts).toISOString()]).sort(), [
      ['pp512', 180.5, null, '2026-12-01T10:00:00.000Z'],
      ['tg128', null, 21.25, '2026-12-01T10:00:00.000Z'],
    ]);
    await assert.rejects(call(importLlamaBench, deps, { runtimeId: ep.id, name: 'bench:1b', text: '{"garbage": true}' }), /test 1: model_filename/);

    const csv = await call(exportRuns, deps, { runtimeId: ep.id, name: 'bench:1b', format: 'csv' });
    const lines = csv.text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'run_id,ts,hardware,prompt_set,concurrency,ttft_ms,prompt_tps,gen_tps');
    assert.equal(lines.length - 1, csv.runs);
    assert.ok(lines.some((l) => /,pp512,1,,180\.5,$/.test(l)), lines.join('\n'));
    const json = JSON.parse((await call(exportRuns, deps, { runtimeId: ep.id, name: 'bench:1b', format: 'json' })).text) as { runs: { promptSet: string; details: { samples?: unknown[]; source?: string } | null }[] };
    assert.equal(json.runs.length, csv.runs);
    assert.ok(json.runs.some((x) => Array.isArray(x.details?.samples) && x.details.samples.length > 0), 'our runs carry their samples');
    assert.ok(json.runs.some((x) => x.details?.source === 'llama-bench'));
  });

  it('models.fit: from the GGUF header of a folder model, or what Ollama\'s show says; speed from the runs above', async () => {
    const folder = box.dir();
    writeTinyGguf(path.join(folder, 'fitme.gguf'), { name: 'fitme', layers: 4, contextLength: 512 });
    const fep = ggufFolderEndpoint(folder);
    catalog.setEndpoints([ep, fep]);
    await catalog.waitFor((c) => c.get(fep.id)?.status === 'ok' && c.get(ep.id)?.status === 'ok', 30_000);
    const fromFile = await call(fitModel, deps, { runtimeId: fep.id, name: 'fitme.gguf' });
    assert.deepEqual([fromFile.facts.source, fromFile.facts.layers, fromFile.fit.contextSize, fromFile.fit.kvEstimated], ['gguf', 4, 512, false]);
    assert.ok(['cpu', 'gpu', 'partial'].includes(fromFile.fit.verdict), fromFile.fit.text);
    assert.equal(fromFile.speed?.basis, 'first guess', 'no benchmark of a GGUF folder here');
    // An Ollama model: its facts from the runtime's /api/show model_info, the KV cache's shape included.
    const listed = await call(fitModel, deps, { runtimeId: ep.id, name: 'bench:1b', contextSize: 256 });
    assert.deepEqual([listed.facts.source, listed.facts.layers, listed.fit.kvEstimated], ['runtime', 2, false]);
    assert.equal(listed.facts.kvBytesPerToken, (await modelFactsFromGguf(path.join(modelsDir, 'bench__1b.gguf')))?.kvBytesPerToken);
    assert.equal(listed.fit.contextSize, 256);
    // The runs of this file at concurrency 1 on this machine give the prediction.
    assert.equal(listed.speed?.basis, 'history');
    assert.match(listed.speed!.text, /from \d+ benchmarks on this machine/);
    // A name not pulled yet is estimated from what it says; one that says no size is refused.
    const named = await call(fitModel, deps, { runtimeId: ep.id, name: 'qwen2.5:7b', contextSize: 4096 });
    assert.deepEqual([named.model, named.facts.source, named.facts.sizeBytes], ['qwen2.5:7b', 'name', Math.round((7e9 * 4.89) / 8)]);
    assert.match(named.fit.text, /sized from its name \(Q4_K_M\)$/);
    await assert.rejects(call(fitModel, deps, { runtimeId: ep.id, name: 'absent' }), /does not list absent, and its name gives no size/);
    catalog.setEndpoints([ep]);
  });

  it('models.recommend ranks what fits, made for the use, fast enough, with the reasons; a model too big comes last', async () => {
    const r = await call(recommendModels, deps, { use: 'code', names: ['qwen2.5-coder:1.5b', 'llama3.1:405b-instruct-fp16', 'nomic-embed-text:137m'] });
    const names = r.models.map((m) => m.name);
    assert.deepEqual(names.slice(-1), ['llama3.1:405b-instruct-fp16'], 'the 810 GB model does not fit: last');
    assert.equal(r.models.at(-1)!.verdict, 'too-big');
    assert.match(r.models.at(-1)!.reasons[0], /^does not fit/);
    const coder = r.models.find((m) => m.name === 'qwen2.5-coder:1.5b')!;
    const embed = r.models.find((m) => m.name === 'nomic-embed-text:137m')!;
    assert.ok(coder.score > embed.score, 'a code model before an embedding model for code');
    assert.ok(coder.reasons.includes('made for code') && embed.reasons.includes('an embedding model, not made for code'), JSON.stringify(embed.reasons));
    assert.match(coder.reasons.join(' | '), /not pulled: about 0\.9 GB to download/);
    const local = r.models.find((m) => m.name === 'bench:1b')!;
    assert.deepEqual([local.pulled, local.runtime], [true, 'bench-rt']);
    assert.ok(local.reasons.includes('already in bench-rt'));
  });

  it('models.unused lists models a runtime still has and nothing used lately, with the disk they would free', async () => {
    assert.deepEqual((await call(unusedModels, deps, { days: 30 })).models, [], 'bench:1b was benchmarked just now');
    // Its last use a year ago: it is unused, and its size is what removing it frees.
    const rt = repos.listRuntimes().find((x) => x.kind === 'ollama')!;
    const id = repos.findModel(rt.id, 'bench', '1b')!.id;
    repos.db.run('UPDATE models SET last_used_at = ?, created_at = ? WHERE id = ?', [Date.now() - 365 * 86_400_000, Date.now() - 400 * 86_400_000, id]);
    const r = await call(unusedModels, deps, { days: 30 });
    assert.deepEqual(r.models.map((m) => [m.name, m.runtime]), [['bench:1b', 'bench-rt']]);
    const size = catalog.get(ep.id)!.models.find((m) => m.name === 'bench:1b')!.sizeBytes!;
    assert.equal(r.freeBytes, size);
    assert.deepEqual((await call(unusedModels, deps, { days: 400 })).models, []);
  });
});
