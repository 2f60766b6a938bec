// Benchmark "models": the Models view at scale and the memory of a large pull.
//
//   npm run bench -- models
//
// refresh1000Ms   Three local runtimes (two Ollama APIs, one llama.cpp server; 400 + 400 + 200 models)
//                 answer with realistic pre-built JSON from a worker thread. A ModelCatalog with the
//                 extension's hooks (RegistrySync on a real registry file, IdleManager) lists them; then
//                 the whole view model (runtimeNode for every runtime + runtimeChildren for every runtime,
//                 i.e. all 1,000 model nodes) is rebuilt from the catalog's state, as the tree's
//                 getChildren does once the responses have arrived. Budget: <= 50 ms.
// refreshWithHttpMs  catalog.refresh() (HTTP + zod + registry sync of an unchanged listing) + that rebuild.
// firstSyncMs     the registry sync of the first listing (1,000 new models).
// pullMemoryMB    RSS of this process above its base while ModelCatalog.pull pulls a 1 GiB file from the
//                 test runtime (test/runtime/server/server.mjs run as a host process). Budget: <= 100 MB.
// verifyMBps      sha256 (integrity.ts) of the pulled file, with its memory above base.
//
// Env: BENCH_MODELS_RUNS (view rebuilds per variant, default 100), BENCH_MODELS_HTTP_RUNS (full refreshes,
// default 30), BENCH_MODELS_PULL_MB (size of the pulled file in MiB, default 1024),
// BENCH_MODELS_NODE_MODULES (node_modules holding node-llama-cpp for server.mjs; default
// ~/.cache/llm-local-stack/node-llama-cpp-3.22.1/node_modules), BENCH_MODELS_KEEP=1 (keep the temp dir).
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { withTimeout } from '../src/core/docker/connection';
import { errorMessage, type Logger } from '../src/core/lifecycle';
import { Registry } from '../src/core/registry/registry';
import { RegistryRepositories } from '../src/core/registry/repositories';
import { ModelCatalog, type CatalogHooks } from '../src/core/runtimes/catalog';
import { IdleManager } from '../src/core/runtimes/idle';
import { verifyDigest } from '../src/core/runtimes/integrity';
import { runtimeChildren, runtimeNode, type ModelTimes, type ModelViewOptions } from '../src/core/runtimes/modelTree';
import type { PullSnapshot } from '../src/core/runtimes/pullProgress';
import { RegistrySync } from '../src/core/runtimes/registrySync';
import type { RuntimeEndpoint } from '../src/core/runtimes/runtime';
import { interruptCleanups } from './lib/benchContainers';
import { collectGarbage, round, summarize, Summary } from './lib/stats';
import { envNumber, rng, budget, budgetSummary } from './lib/params';
import { freePort } from '../test/support/net';

const log = (msg: string) => process.stderr.write(`[bench:models] ${msg}\n`);
const repoRoot = path.resolve(__dirname, '..', '..');
const MB = 2 ** 20;
const mb = (bytes: number) => round(bytes / MB, 1);
const REFRESH_BUDGET_MS = 50;
const PULL_MEMORY_BUDGET_MB = 100;



const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const pct = (s: Summary) => ({ p50Ms: s.p50Ms, p95Ms: s.p95Ms, minMs: s.minMs, maxMs: s.maxMs, meanMs: s.meanMs, n: s.n });

// ---------------------------------------------------------------------------------------------
// The runtimes' answers

const FAMILIES = [
  { family: 'llama', stems: ['llama3.1', 'llama3.2', 'llama3.3', 'codellama'], params: [1.24e9, 3.21e9, 8.03e9, 70.6e9], ctx: 131072, vocab: 128256, embd: 4096 },
  { family: 'qwen2', stems: ['qwen2.5', 'qwen2.5-coder'], params: [0.494e9, 1.54e9, 3.09e9, 7.62e9, 14.8e9, 32.8e9], ctx: 32768, vocab: 152064, embd: 3584 },
  { family: 'qwen3', stems: ['qwen3'], params: [0.6e9, 1.7e9, 4.02e9, 8.19e9, 14.8e9, 30.5e9], ctx: 40960, vocab: 151936, embd: 4096 },
  { family: 'gemma3', stems: ['gemma3', 'gemma2'], params: [1e9, 4.3e9, 12.2e9, 27.4e9], ctx: 131072, vocab: 262144, embd: 2560 },
  { family: 'phi3', stems: ['phi3', 'phi3.5', 'phi4'], params: [3.82e9, 14.7e9], ctx: 16384, vocab: 100352, embd: 5120 },
  { family: 'mistral', stems: ['mistral', 'mistral-nemo', 'mistral-small'], params: [7.25e9, 12.2e9, 23.6e9], ctx: 32768, vocab: 32768, embd: 5120 },
  { family: 'deepseek2', stems: ['deepseek-r1', 'deepseek-coder-v2'], params: [1.78e9, 7.62e9, 15.7e9, 32.8e9], ctx: 131072, vocab: 102400, embd: 2048 },
  { family: 'starcoder2', stems: ['starcoder2'], params: [3.03e9, 7.17e9, 16e9], ctx: 16384, vocab: 49152, embd: 3072 },
  { family: 'granite', stems: ['granite3.1-dense', 'granite3.3'], params: [2.53e9, 8.17e9], ctx: 131072, vocab: 49155, embd: 4096 },
  { family: 'nomic-bert', stems: ['nomic-embed-text'], params: [137e6], ctx: 2048, vocab: 30522, embd: 768 },
] as const;
const QUANTS = [
  { q: 'Q4_K_M', bpw: 4.89, ft: 15 },
  { q: 'Q4_0', bpw: 4.55, ft: 2 },
  { q: 'Q5_K_M', bpw: 5.69, ft: 17 },
  { q: 'Q6_K', bpw: 6.56, ft: 18 },
  { q: 'Q8_0', bpw: 8.5, ft: 7 },
  { q: 'F16', bpw: 16, ft: 1 },
  { q: 'IQ3_M', bpw: 3.66, ft: 27 },
] as const;
const VARIANTS = ['instruct', 'chat', 'base', 'text', 'it', 'abliterated', 'uncensored', 'distill', 'vision'];
const HF_USERS = ['bartowski', 'unsloth', 'lmstudio-community', 'mradermacher', 'QuantFactory', 'TheBloke'];

function paramLabel(p: number): string {
  return p >= 1e9 ? `${round(p / 1e9, 1)}B` : `${round(p / 1e6, 2)}M`;
}
/** Ollama's library tags spell quantizations q4_K_M, q8_0, fp16. */
const ollamaQuantTag = (q: string) => (q === 'F16' ? 'fp16' : q.toLowerCase().replace('_k_', '_K_').replace(/_m$/, '_M'));
const titleCase = (s: string) => s.replace(/(^|[-.])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());
/** Ollama's timestamps: RFC 3339 with nanoseconds and an offset. */
const ollamaTime = (t: number) => `${new Date(t).toISOString().slice(0, 23)}${String(Math.floor(t % 997)).padStart(3, '0')}417+00:00`;

interface Served {
  /** path → body */
  readonly routes: Record<string, string>;
  readonly models: number;
  readonly loaded: number;
  readonly bytes: number;
}

function ollamaServer(seed: number, count: number, loadedCount: number, now: number): Served {
  const r = rng(seed);
  const names = new Set<string>();
  const models: Record<string, unknown>[] = [];
  while (models.length < count) {
    const fam = pick(r, FAMILIES);
    const stem = pick(r, fam.stems);
    const params = pick(r, fam.params);
    const quant = pick(r, QUANTS);
    const variant = pick(r, VARIANTS);
    const label = paramLabel(params);
    // Library models ("qwen2.5:7b-instruct-q4_K_M"), Hugging Face pulls ("hf.co/bartowski/…-GGUF:Q4_K_M") and own tags.
    const u = r();
    let name =
      u < 0.6
        ? `${stem}:${label.toLowerCase()}-${variant}-${ollamaQuantTag(quant.q)}`
        : u < 0.9
          ? `hf.co/${pick(r, HF_USERS)}/${titleCase(stem)}-${label}-${titleCase(variant)}-GGUF:${quant.q}`
          : `team/${stem}-${variant}-ft${Math.floor(r() * 100)}:${label.toLowerCase()}`;
    if (names.has(name)) name = name.replace(':', `-r${models.length}:`);
    names.add(name);
    const size = Math.round(((params * quant.bpw) / 8) * (0.98 + r() * 0.05));
    models.push({
      name,
      model: name,
      modified_at: ollamaTime(now - Math.floor(r() * 400 * 86_400_000)),
      size,
      digest: hex(r, 64),
      details: { parent_model: '', format: 'gguf', family: fam.family, families: [fam.family], parameter_size: paramLabel(params), quantization_level: quant.q },
    });
  }
  const running = models.slice(0, loadedCount).map((m, i) => ({
    ...m,
    // In memory: weights plus the KV cache; the first on the GPU, the rest split or on the CPU.
    size: Math.round((m.size as number) * 1.25),
    expires_at: ollamaTime(now + (4 + i) * 60_000),
    size_vram: i === 0 ? Math.round((m.size as number) * 1.25) : i === 1 ? Math.round((m.size as number) * 0.6) : 0,
  }));
  const routes = {
    '/api/version': JSON.stringify({ version: '0.6.5' }),
    '/api/tags': JSON.stringify({ models }),
    '/api/ps': JSON.stringify({ models: running }),
  };
  return { routes, models: count, loaded: loadedCount, bytes: Object.values(routes).reduce((a, b) => a + Buffer.byteLength(b), 0) };
}

function llamaCppServer(seed: number, count: number, now: number): Served {
  const r = rng(seed);
  const ids = new Set<string>();
  const data: Record<string, unknown>[] = [];
  while (data.length < count) {
    const fam = pick(r, FAMILIES);
    const stem = pick(r, fam.stems);
    const params = pick(r, fam.params);
    const quant = pick(r, QUANTS);
    const variant = pick(r, VARIANTS);
    const label = paramLabel(params);
    // llama-server -m file.gguf lists the file; -hf repo:quant lists the repo.
    let id = r() < 0.5 ? `${titleCase(stem)}-${label}-${titleCase(variant)}-${quant.q}.gguf` : `${pick(r, HF_USERS)}/${titleCase(stem)}-${label}-${titleCase(variant)}-GGUF:${quant.q}`;
    if (ids.has(id)) id = id.replace(/(\.gguf|:)/, `-r${data.length}$1`);
    ids.add(id);
    data.push({
      id,
      object: 'model',
      created: Math.floor(now / 1000),
      owned_by: 'llamacpp',
      meta: { vocab_type: 2, n_vocab: fam.vocab, n_ctx_train: fam.ctx, n_embd: fam.embd, n_params: Math.round(params), size: Math.round(((params * quant.bpw) / 8) * (0.98 + r() * 0.05)) },
    });
  }
  const props = {
    default_generation_settings: {
      id: 0,
      id_task: -1,
      n_ctx: 8192,
      speculative: false,
      is_processing: false,
      params: { n_predict: -1, seed: 4294967295, temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_last_n: 64, repeat_penalty: 1, max_tokens: -1, n_keep: 0, stream: true, samplers: ['top_k', 'top_p', 'min_p', 'temperature'] },
      prompt: '',
      next_token: { has_next_token: true, has_new_line: false, n_remain: -1, n_decoded: 0, stopping_word: '' },
    },
    total_slots: 4,
    model_path: '/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf',
    chat_template: '{% for message in messages %}{{ message.content }}{% endfor %}',
    chat_template_caps: {},
    modalities: { vision: false, audio: false },
    build_info: 'b5478-f5cd27b7',
  };
  const routes = { '/v1/models': JSON.stringify({ object: 'list', data }), '/props': JSON.stringify(props), '/health': JSON.stringify({ status: 'ok' }) };
  return { routes, models: count, loaded: count, bytes: Buffer.byteLength(routes['/v1/models']) + Buffer.byteLength(routes['/props']) };
}

/** The runtimes answer from a worker thread, so serving does not share the measured event loop. */
const SERVER_WORKER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const servers = [];
const counts = [];
(async () => {
  for (const [i, routes] of workerData.servers.entries()) {
    const bodies = new Map(Object.entries(routes).map(([p, b]) => [p, Buffer.from(b)]));
    counts.push(0);
    const server = http.createServer((req, res) => {
      counts[i]++;
      const body = req.method === 'GET' ? bodies.get((req.url || '/').split('?')[0]) : undefined;
      if (!body) {
        res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    servers.push(server);
  }
  parentPort.postMessage({ ports: servers.map((s) => s.address().port) });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
parentPort.on('message', (m) => {
  if (m === 'counts') parentPort.postMessage({ counts });
  if (m === 'close') {
    for (const s of servers) s.closeAllConnections?.(), s.close();
    parentPort.close();
  }
});
`;

interface RuntimeServers {
  readonly ports: number[];
  requestCounts(): Promise<number[]>;
  close(): Promise<void>;
}

async function startRuntimeServers(servers: Served[]): Promise<RuntimeServers> {
  const worker = new Worker(SERVER_WORKER, { eval: true, workerData: { servers: servers.map((s) => s.routes) } });
  const next = <T>(what: string) =>
    withTimeout(what, 15_000, () => new Promise<T>((resolve, reject) => {
      const onError = (e: unknown) => reject(e);
      worker.once('error', onError);
      worker.once('message', (m: T & { error?: string }) => {
        worker.off('error', onError);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      });
    }));
  try {
    const { ports } = await next<{ ports: number[] }>('starting the runtime servers');
    return {
      ports,
      async requestCounts() {
        const reply = next<{ counts: number[] }>('reading request counts');
        worker.postMessage('counts');
        return (await reply).counts;
      },
      async close() {
        worker.postMessage('close');
        await withTimeout('stopping the runtime servers', 5000, () => worker.terminate()).catch(() => undefined);
      },
    };
  } catch (e) {
    await worker.terminate();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The extension's wiring: catalog + registry sync + idle manager, as in activate()

interface Wired {
  readonly catalog: ModelCatalog;
  readonly idle: IdleManager;
  readonly registry: Registry;
  readonly times: ModelTimes;
  /** onListing hook calls: runtime id, ms, models */
  readonly syncs: { id: string; ms: number; models: number }[];
  /** RegistrySync's info lines ("lists N models (x new, y changed)", "new version"), i.e. writes. */
  readonly registryWrites: string[];
  readonly warnings: string[];
  dispose(): Promise<void>;
}

async function wire(registryFile: string, catalogTimeoutMs?: number): Promise<Wired> {
  const registry = await Registry.open({ file: registryFile });
  const repos = new RegistryRepositories(registry);
  const registryWrites: string[] = [];
  const warnings: string[] = [];
  const coreLog: Logger = {
    debug: () => undefined,
    info: (m) => void (m.startsWith('Registry:') && registryWrites.push(m)),
    warn: (m) => void warnings.push(m),
    error: (m) => void warnings.push(m),
  };
  const sync = new RegistrySync(async () => repos, coreLog);
  const syncs: Wired['syncs'] = [];
  const hooks: CatalogHooks = {
    onListing: async (e, l) => {
      const t0 = performance.now();
      try {
        return await sync.onListing(e, l);
      } finally {
        syncs.push({ id: e.id, ms: performance.now() - t0, models: l.models.length });
      }
    },
    onUsage: (e, m, k, d) => sync.onUsage(e, m, k, d),
    onAudit: (op, target, error) => sync.onAudit(op, target, error),
  };
  const catalog = new ModelCatalog({ log: coreLog, hooks, timeoutMs: catalogTimeoutMs });
  // The extension's defaults: unload after 30 min, containers never stopped.
  const idle = new IdleManager(catalog, { settings: () => ({ unloadMinutes: 30, stopContainerMinutes: 0 }), log: coreLog, stopContainer: async () => undefined });
  const times: ModelTimes = { lastUsed: (id, n) => catalog.lastUsed(id, n), unloadsAt: idle.unloadsAt.bind(idle), stopsAt: idle.stopsAt.bind(idle) };
  return {
    catalog,
    idle,
    registry,
    times,
    syncs,
    registryWrites,
    warnings,
    async dispose() {
      idle.dispose();
      catalog.dispose();
      await registry.close();
    },
  };
}

const settled = (c: ModelCatalog) => c.list().every((s) => s.status !== 'pending' && !s.refreshing);

/** What the Models view's getChildren builds: the runtime groups, then (all expanded) each group's children. */
function buildView(catalog: ModelCatalog, options: ModelViewOptions, times: ModelTimes): { runtimes: number; models: number; messages: number; chars: number } {
  const now = Date.now();
  const roots = catalog.list().map((s) => runtimeNode(s, options, times, now));
  let models = 0;
  let messages = 0;
  let chars = 0;
  for (const root of roots) {
    chars += root.description.length + root.tooltip.length;
    const state = catalog.get(root.runtimeId);
    for (const node of state ? runtimeChildren(state, options, times, now) : []) {
      if (node.type === 'model') {
        models++;
        chars += node.description.length + node.tooltip.length;
      } else messages++;
    }
  }
  return { runtimes: roots.length, models, messages, chars };
}

function timeView(catalog: ModelCatalog, options: ModelViewOptions, times: ModelTimes, runs: number, warmup: number) {
  const samples: number[] = [];
  let shape = buildView(catalog, options, times);
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    shape = buildView(catalog, options, times);
    const ms = performance.now() - t0;
    if (i >= warmup) samples.push(ms);
  }
  return { summary: summarize(samples, 3), shape };
}

const budgetRatio = (ms: number) => round(ms / REFRESH_BUDGET_MS, 3);

async function measureRefresh(tmp: string, warnings: string[]): Promise<Record<string, unknown>> {
  const runs = envNumber('BENCH_MODELS_RUNS', 100);
  const httpRuns = Math.max(30, envNumber('BENCH_MODELS_HTTP_RUNS', 30));
  const now = Date.now();
  const served = [ollamaServer(11, 400, 3, now), ollamaServer(22, 400, 2, now), llamaCppServer(33, 200, now)];
  const servers = await startRuntimeServers(served);
  let wired: Wired | undefined;
  try {
    const [p1, p2, p3] = servers.ports;
    const endpoints: RuntimeEndpoint[] = [
      { id: `ollama@http://127.0.0.1:${p1}`, kind: 'ollama', api: 'ollama', name: 'ollama', baseUrl: `http://127.0.0.1:${p1}`, source: 'container', containerId: 'a'.repeat(64) },
      { id: `ollama@http://127.0.0.1:${p2}`, kind: 'ollama', api: 'ollama', name: 'ollama-gpu', baseUrl: `http://127.0.0.1:${p2}`, source: 'user' },
      { id: `llamacpp@http://127.0.0.1:${p3}`, kind: 'llamacpp', api: 'openai', name: 'llama-server', baseUrl: `http://127.0.0.1:${p3}`, source: 'container', containerId: 'b'.repeat(64) },
    ];
    wired = await wire(path.join(tmp, 'registry.sqlite'));
    const { catalog, times, registry } = wired;

    // ---- first listing: cold HTTP + zod, and the registry sync of 1,000 new models
    log('first listing (1,000 new models into the registry)');
    let t0 = performance.now();
    catalog.setEndpoints(endpoints);
    await catalog.waitFor(settled, 60_000);
    const firstRefreshMs = performance.now() - t0;
    const failed = catalog.list().filter((s) => s.status !== 'ok');
    if (failed.length) throw new Error(`listing failed: ${failed.map((s) => `${s.endpoint.name}: ${s.error}`).join('; ')}`);
    if (catalog.modelCount !== 1000) throw new Error(`the catalog lists ${catalog.modelCount} models, not 1,000`);
    const firstSyncs = wired.syncs.splice(0);
    const firstSyncMs = firstSyncs.reduce((a, s) => a + s.ms, 0);
    const firstWrites = wired.registryWrites.splice(0);
    t0 = performance.now();
    await registry.flush();
    const firstPersistMs = performance.now() - t0;
    const counts = registry.counts();
    if (counts.models !== 1000) warnings.push(`the registry holds ${counts.models} models after the first sync, not 1,000`);

    // The first sync again, warm (JIT, sql.js loaded), each into a fresh registry file.
    const warmFirstSyncs: number[] = [];
    const listings = catalog.list().map((s) => ({ endpoint: s.endpoint, listing: { version: s.version, models: s.models } }));
    for (let i = 0; i < 5; i++) {
      const file = path.join(tmp, `fresh-${i}.sqlite`);
      const fresh = await Registry.open({ file, persistDelayMs: 3_600_000 });
      try {
        const repos = new RegistryRepositories(fresh);
        const sync = new RegistrySync(async () => repos);
        const t = performance.now();
        for (const { endpoint, listing } of listings) await sync.onListing(endpoint, listing);
        warmFirstSyncs.push(performance.now() - t);
      } finally {
        await fresh.close();
      }
    }

    // ---- warm-up refresh (as the brief: once), then some models count as used (the "last used" column)
    await catalog.refresh();
    const r = rng(99);
    for (const s of catalog.list()) for (const m of s.models) if (r() < 0.15) catalog.markUsed(s.endpoint.id, m.name, now - Math.floor(r() * 30 * 86_400_000));
    wired.syncs.splice(0);

    // ---- (a) the view rebuild alone, once the responses have arrived
    log(`view rebuild x ${runs} per variant`);
    await collectGarbage();
    const variants: Record<string, ModelViewOptions> = {
      default: { sort: 'name' },
      filterSortSize: { filter: 'q4', sort: 'size' },
      sortLastUsed: { sort: 'lastUsed' },
      loadedOnly: { sort: 'name', loadedOnly: true },
    };
    const view: Record<string, unknown> = {};
    const viewP50: Record<string, number> = {};
    for (const [name, options] of Object.entries(variants)) {
      const { summary, shape } = timeView(catalog, options, times, runs, 10);
      view[name] = { options, ...pct(summary), budgetRatio: budgetRatio(summary.p50Ms), ...shape };
      viewP50[name] = summary.p50Ms;
    }
    const defaultShape = view.default as { models: number };
    if (defaultShape.models !== 1000) warnings.push(`the default view built ${defaultShape.models} model nodes, not 1,000`);

    // ---- (b) full refresh: HTTP + zod + registry sync (unchanged) + rebuild
    log(`full refresh x ${httpRuns}`);
    const journalBefore = await registry.flush().then(() => fs.statSync(registry.journalFile).size);
    const requestsBefore = await servers.requestCounts();
    wired.registryWrites.splice(0);
    await collectGarbage();
    const full: number[] = [];
    const listOnly: number[] = [];
    const syncPerRefresh: number[] = [];
    for (let i = 0; i < 3 + httpRuns; i++) {
      wired.syncs.splice(0);
      const t = performance.now();
      await catalog.refresh();
      const listed = performance.now();
      buildView(catalog, variants.default, times);
      const done = performance.now();
      if (i >= 3) {
        full.push(done - t);
        listOnly.push(listed - t);
        syncPerRefresh.push(wired.syncs.reduce((a, s) => a + s.ms, 0));
      }
    }
    const requestsAfter = await servers.requestCounts();
    await registry.flush();
    const journalAfter = fs.statSync(registry.journalFile).size;
    const refreshWrites = wired.registryWrites.splice(0);
    if (refreshWrites.length || journalAfter !== journalBefore) {
      warnings.push(`an unchanged listing wrote to the registry: ${refreshWrites.length} sync log lines, journal ${journalBefore} → ${journalAfter} bytes`);
    }
    if (catalog.list().some((s) => s.status !== 'ok')) warnings.push('a runtime failed during the full refreshes');

    const fullS = summarize(full, 3);
    const listS = summarize(listOnly, 3);
    const syncS = summarize(syncPerRefresh, 3);
    const firstSyncWarmS = summarize(warmFirstSyncs, 3);
    return {
      refresh1000Ms: viewP50.default,
      refresh1000P95Ms: (view.default as { p95Ms: number }).p95Ms,
      refresh1000FilterSortSizeMs: viewP50.filterSortSize,
      refreshWithHttpMs: fullS.p50Ms,
      refreshWithHttpP95Ms: fullS.p95Ms,
      firstSyncMs: round(firstSyncMs, 3),
      refresh: {
        what: 'runtimeNode for the 3 runtimes + runtimeChildren for each (all expanded), from the catalog state, with the IdleManager times the view uses; no HTTP. refresh1000Ms = p50 of "default".',
        budgetMs: REFRESH_BUDGET_MS,
        runs,
        warmupRuns: 10,
        ...view,
      },
      refreshWithHttp: {
        what: 'await catalog.refresh() (3 runtimes: 8 GETs — Ollama /api/version, /api/tags, /api/ps; llama.cpp /v1/models, /props —, zod, noteLoaded, RegistrySync of an unchanged listing, IdleManager reschedule) + the default view rebuild',
        ...pct(fullS),
        budgetRatio: budgetRatio(fullS.p50Ms),
        runs: httpRuns,
        warmupRuns: 3,
        catalogRefreshOnly: pct(listS),
        registrySyncPerRefresh: pct(syncS),
        requestsPerRefresh: round((requestsAfter.reduce((a, b) => a + b, 0) - requestsBefore.reduce((a, b) => a + b, 0)) / (3 + httpRuns), 2),
        registryWrites: refreshWrites.length,
        journalBytesWritten: journalAfter - journalBefore,
      },
      firstSync: {
        what: 'RegistrySync.onListing of the first listing (1,000 new models, 3 runtimes) inside the first catalog refresh: cold (first run of the code); warm = the same listings into fresh registry files',
        coldMs: round(firstSyncMs, 3),
        perRuntimeMs: Object.fromEntries(firstSyncs.map((s) => [`${endpoints.find((e) => e.id === s.id)?.name ?? s.id} (${s.models})`, round(s.ms, 3)])),
        persistMs: round(firstPersistMs, 3),
        firstRefreshMs: round(firstRefreshMs, 3),
        warm: pct(firstSyncWarmS),
        registryLog: firstWrites,
        registryCounts: counts,
      },
      dataset: {
        runtimes: served.map((s, i) => ({ name: endpoints[i].name, kind: endpoints[i].kind, api: endpoints[i].api, models: s.models, loaded: s.loaded, responseKB: round(s.bytes / 1024, 1) })),
        models: catalog.modelCount,
        markedUsed: catalog.list().reduce((a, s) => a + s.models.filter((m) => catalog.lastUsed(s.endpoint.id, m.name) !== undefined).length, 0),
        note: 'pre-built JSON served from a worker thread on 127.0.0.1 (Ollama: /api/version, /api/tags with details, /api/ps; llama.cpp: /v1/models with meta, /props)',
      },
    };
  } finally {
    await wired?.dispose().catch((e) => warnings.push(`closing the registry: ${errorMessage(e)}`));
    await servers.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Pull of a large file through the test runtime

/** Writes size bytes: a 1 MiB random block, each copy stamped with its index so no two MiB are equal. */
function writeSourceFile(file: string, size: number): void {
  const block = Buffer.alloc(MB);
  for (let i = 0; i < MB; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0; off < size; off += MB) {
      block.writeUInt32LE(off / MB, 0);
      fs.writeSync(fd, block, 0, Math.min(MB, size - off));
    }
  } finally {
    fs.closeSync(fd);
  }
}

function peakRssOf(pid: number | undefined): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

async function startTestRuntime(dir: string, nodeModules: string, env: Record<string, string>): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [path.join(dir, 'server.mjs')], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  await withTimeout('the test runtime to listen', 30_000, () => new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
      if (/runtime listening on/.test(out)) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`server.mjs exited (${code ?? signal}) before listening: ${err.trim().slice(0, 600) || '(no output)'} (node_modules: ${nodeModules})`)));
    child.once('error', reject);
  })).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  child.stdout!.resume();
  return { child, stderr: () => err };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await withTimeout('the test runtime to exit', 5000, () => exited).catch(async () => {
    child.kill('SIGKILL');
    await withTimeout('the test runtime to die', 5000, () => exited).catch(() => undefined);
  });
}

class RssSampler {
  maxRss = 0;
  maxHeapUsed = 0;
  maxExternal = 0;
  maxArrayBuffers = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = 50): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Full sample (every 50 ms). */
  sample(): void {
    const m = process.memoryUsage();
    this.samples++;
    this.maxRss = Math.max(this.maxRss, m.rss);
    this.maxHeapUsed = Math.max(this.maxHeapUsed, m.heapUsed);
    this.maxExternal = Math.max(this.maxExternal, m.external);
    this.maxArrayBuffers = Math.max(this.maxArrayBuffers, m.arrayBuffers);
  }

  /** Cheap RSS-only sample (on every progress event, so a busy event loop cannot hide a peak). */
  rss(): void {
    this.maxRss = Math.max(this.maxRss, process.memoryUsage.rss());
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

async function baseline(): Promise<NodeJS.MemoryUsage> {
  await collectGarbage();
  await new Promise((r) => setTimeout(r, 100));
  await collectGarbage();
  return process.memoryUsage();
}

function deltas(base: NodeJS.MemoryUsage, s: RssSampler) {
  return {
    rssMB: mb(s.maxRss - base.rss),
    heapUsedMB: mb(s.maxHeapUsed - base.heapUsed),
    externalMB: mb(s.maxExternal - base.external),
    arrayBuffersMB: mb(s.maxArrayBuffers - base.arrayBuffers),
  };
}

async function measurePull(tmp: string, warnings: string[]): Promise<Record<string, unknown>> {
  const sizeMiB = envNumber('BENCH_MODELS_PULL_MB', 1024);
  const size = sizeMiB * MB;
  const nodeModules = process.env.BENCH_MODELS_NODE_MODULES || path.join(os.homedir(), '.cache', 'llm-local-stack', 'node-llama-cpp-3.22.1', 'node_modules');
  const serverSource = path.join(repoRoot, 'test', 'runtime', 'server', 'server.mjs');
  const skipped = (reason: string) => {
    warnings.push(`pullMemoryMB skipped: ${reason}`);
    return { pullMemoryMB: null, pullSeconds: null, pullProgressEvents: null, verifyMemoryMB: null, verifyMBps: null, pull: { skipped: reason } };
  };
  if (!fs.existsSync(path.join(nodeModules, 'node-llama-cpp', 'package.json'))) {
    return skipped(`node-llama-cpp is not installed in ${nodeModules} (test/runtime/build-image.sh fills that cache; or set BENCH_MODELS_NODE_MODULES)`);
  }
  if (!fs.existsSync(serverSource)) return skipped(`${serverSource} is missing`);
  try {
    const st = fs.statfsSync(tmp);
    const free = st.bavail * st.bsize;
    if (free < 2 * size + 256 * MB) return skipped(`only ${mb(free)} MiB free in ${tmp}; the pull needs ${mb(2 * size + 256 * MB)} MiB (source + copy)`);
  } catch {
    /* statfs is informative only */
  }

  const serverDir = path.join(tmp, 'runtime');
  const sourceDir = path.join(tmp, 'source');
  const modelsDir = path.join(tmp, 'models');
  for (const d of [serverDir, sourceDir, modelsDir]) fs.mkdirSync(d, { recursive: true });
  fs.copyFileSync(serverSource, path.join(serverDir, 'server.mjs'));
  fs.symlinkSync(nodeModules, path.join(serverDir, 'node_modules'), 'dir');
  const modelName = 'bench-pull';
  const sourceFile = path.join(sourceDir, `${modelName}__latest.gguf`);
  log(`writing a ${sizeMiB} MiB source file`);
  let t = performance.now();
  writeSourceFile(sourceFile, size);
  const writeSourceMs = performance.now() - t;

  let child: ChildProcess | undefined;
  const killNow = async () => {
    if (child) await stopChild(child);
  };
  interruptCleanups.add(killNow);
  let wired: Wired | undefined;
  try {
    const port = await freePort();
    const started = await startTestRuntime(serverDir, nodeModules, { PORT: String(port), MODELS_DIR: modelsDir, SOURCE_DIR: sourceDir, PULL_CHUNK_DELAY_MS: '0' });
    child = started.child;
    const baseUrl = `http://127.0.0.1:${port}`;
    const endpoint: RuntimeEndpoint = { id: `ollama@${baseUrl}`, kind: 'ollama', api: 'ollama', name: 'bench-runtime', baseUrl, source: 'user' };
    // The test runtime hashes the whole file before it answers /api/pull and /api/tags (real Ollama
    // does not): a longer request bound than the extension's 10 s keeps a slow disk from failing the bench.
    wired = await wire(path.join(tmp, 'pull-registry.sqlite'), 60_000);
    const { catalog } = wired;
    catalog.setEndpoints([endpoint]);
    await catalog.waitFor(settled, 30_000);
    if (catalog.get(endpoint.id)?.status !== 'ok') throw new Error(`the test runtime does not list: ${catalog.get(endpoint.id)?.error}`);

    // ---- pull
    log(`pulling ${sizeMiB} MiB through ModelCatalog.pull`);
    const base = await baseline();
    const sampler = new RssSampler();
    let events = 0;
    let last: PullSnapshot | undefined;
    sampler.start(50);
    t = performance.now();
    try {
      await withTimeout('the pull', 150_000, (signal) =>
        catalog.pull(
          endpoint.id,
          modelName,
          (s) => {
            events++;
            last = s;
            sampler.rss();
          },
          signal,
        ),
      );
    } finally {
      sampler.stop();
    }
    const pullMs = performance.now() - t;
    const pullMem = deltas(base, sampler);
    // pull() ends with a refresh in the background: let it land before the next figure.
    await withTimeout('the listing after the pull', 60_000, () => catalog.refresh(endpoint.id));
    const model = catalog.model(endpoint.id, `${modelName}:latest`);
    if (!model) throw new Error(`${modelName}:latest is not listed after the pull`);
    if (model.sizeBytes !== size) warnings.push(`the pulled model lists ${model.sizeBytes} bytes, not ${size}`);
    const serverPeakRssMB = peakRssOf(child.pid);

    // ---- verify (sha256File) on the pulled file
    const pulledFile = path.join(modelsDir, `${modelName}__latest.gguf`);
    log('sha256 of the pulled file');
    const vBase = await baseline();
    const vSampler = new RssSampler();
    vSampler.start(50);
    t = performance.now();
    let verified;
    try {
      verified = await withTimeout('sha256 of the pulled file', 120_000, (signal) => verifyDigest(pulledFile, model.digest, { signal, onProgress: () => vSampler.rss() }));
    } finally {
      vSampler.stop();
    }
    const verifyMs = performance.now() - t;
    if (verified.status !== 'match') warnings.push(`verifyDigest said ${verified.status} (expected ${verified.expected}, got ${verified.actual})`);
    const verifyMem = deltas(vBase, vSampler);
    if (wired.warnings.length) warnings.push(...wired.warnings.map((w) => `pull: ${w}`));

    return {
      pullMemoryMB: pullMem.rssMB,
      pullSeconds: round(pullMs / 1000, 2),
      pullProgressEvents: events,
      verifyMemoryMB: verifyMem.rssMB,
      verifyMBps: round(verified.bytes / MB / (verifyMs / 1000), 1),
      pull: {
        what: 'ModelCatalog.pull of a 1 GiB file from test/runtime/server/server.mjs (a host process; /api/pull copies SOURCE_DIR into MODELS_DIR in 256 KiB chunks, one NDJSON progress line each), with RegistrySync hooks; pullMemoryMB = max RSS of this process during the pull - RSS after gc before it',
        budgetMB: PULL_MEMORY_BUDGET_MB,
        budgetRatio: pullMem.rssMB === null ? null : round(pullMem.rssMB / PULL_MEMORY_BUDGET_MB, 3),
        fileBytes: size,
        baseMB: { rss: mb(base.rss), heapUsed: mb(base.heapUsed), external: mb(base.external), arrayBuffers: mb(base.arrayBuffers) },
        peakAboveBaseMB: pullMem,
        samples: sampler.samples,
        progressEvents: events,
        lastProgress: last ? { status: last.status, completed: last.completed, total: last.total, fraction: last.fraction, message: last.message } : null,
        seconds: round(pullMs / 1000, 2),
        throughputMBps: round(size / MB / (pullMs / 1000), 1),
        serverPeakRssMB,
        writeSourceSeconds: round(writeSourceMs / 1000, 2),
        note: 'pullSeconds includes the test runtime hashing the source before it answers, its digest check after the copy, and the listing that follows (which hashes the new file once more)',
      },
      verify: {
        what: 'verifyDigest (sha256File, 1 MiB reads) on the pulled file against the digest the listing reported; the file was just written, so it is read from the page cache',
        status: verified.status,
        seconds: round(verifyMs / 1000, 2),
        bytes: verified.bytes,
        baseMB: { rss: mb(vBase.rss) },
        peakAboveBaseMB: verifyMem,
        samples: vSampler.samples,
      },
    };
  } finally {
    await wired?.dispose().catch((e) => warnings.push(`closing the pull registry: ${errorMessage(e)}`));
    await killNow();
    interruptCleanups.delete(killNow);
  }
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<Record<string, unknown>> {
  const warnings: string[] = [];
  const phaseSeconds: Record<string, number> = {};
  const result: Record<string, unknown> = {};
  const loadAvgStart = os.loadavg().map((x) => round(x, 2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-bench-models-'));
  const removeTmp = async () => fs.rmSync(tmp, { recursive: true, force: true });
  interruptCleanups.add(removeTmp);
  const phase = async (name: string, fn: () => Promise<Record<string, unknown>>) => {
    log(name);
    const t0 = Date.now();
    try {
      Object.assign(result, await fn());
    } finally {
      phaseSeconds[name] = round((Date.now() - t0) / 1000, 1);
    }
  };
  try {
    // The pull first: its base should not include heap pages the 1,000-model phase left committed
    // (V8 keeps them after gc, so later growth would hide in them and read low in RSS).
    await phase('pull', async () => {
      try {
        return await measurePull(tmp, warnings);
      } catch (e) {
        // The refresh figures still count; the pull's absence shows in targetsMissed and warnings.
        warnings.push(`pull failed: ${errorMessage(e)}`);
        return { pullMemoryMB: null, pullSeconds: null, pullProgressEvents: null, verifyMemoryMB: null, verifyMBps: null, pull: { error: errorMessage(e) } };
      }
    });
    await phase('refresh', () => measureRefresh(tmp, warnings));
  } finally {
    interruptCleanups.delete(removeTmp);
    if (process.env.BENCH_MODELS_KEEP === '1') log(`kept ${tmp}`);
    else await removeTmp();
  }

  const gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  if (!gc) warnings.push('memory measured without global.gc (run node with --expose-gc)');
  const targets = {
    refresh1000Ms: budget(result.refresh1000Ms, REFRESH_BUDGET_MS, 'ms'),
    refresh1000FilterSortSizeMs: budget(result.refresh1000FilterSortSizeMs, REFRESH_BUDGET_MS, 'ms'),
    pullMemoryMB: budget(result.pullMemoryMB, PULL_MEMORY_BUDGET_MB, 'MB'),
  };
  const { targetsMissed, targetsNotMeasured } = budgetSummary(targets);
  const loadAvgEnd = os.loadavg().map((x) => round(x, 2));
  if (loadAvgEnd[0] > os.cpus().length) warnings.push(`the machine was busy (load average ${loadAvgEnd[0]} on ${os.cpus().length} cores): figures are noisy`);

  const order = ['refresh1000Ms', 'refresh1000P95Ms', 'refresh1000FilterSortSizeMs', 'refreshWithHttpMs', 'refreshWithHttpP95Ms', 'firstSyncMs', 'pullMemoryMB', 'pullSeconds', 'pullProgressEvents', 'verifyMemoryMB', 'verifyMBps'];
  const ordered: Record<string, unknown> = {};
  for (const k of order) if (k in result) ordered[k] = result[k];
  ordered.targets = targets;
  ordered.targetsMissed = targetsMissed;
  ordered.targetsNotMeasured = targetsNotMeasured;
  for (const [k, v] of Object.entries(result)) if (!(k in ordered)) ordered[k] = v;
  ordered.environment = { gc, tmpDir: os.tmpdir(), loadAvgStart, loadAvgEnd };
  ordered.phaseSeconds = phaseSeconds;
  ordered.warnings = warnings;
  return ordered;
}
