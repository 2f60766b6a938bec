// Benchmark "registry": the model registry (sql.js, SQLite in WASM, persisted to a file) at scale —
// 100,000 models, 300,000 versions, 1,000,000 usage events — against native SQLite (better-sqlite3,
// a devDependency used only here) running the very same SQL on the very same file.
//
//   npm run bench -- registry
//
// Env: BENCH_REGISTRY_MODELS / _VERSIONS_PER_MODEL / _EVENTS (data set size), BENCH_REGISTRY_RUNS
// (timed runs per query kind, default 300), BENCH_REGISTRY_KEEP=1 (keep the temp dir).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Database as SqlJsDatabase, SqlValue, Statement } from 'sql.js';
import { errorMessage } from '../src/core/lifecycle';
import { readIfExists, writeAtomic } from '../src/core/registry/fileStore';
import { LATEST_VERSION } from '../src/core/registry/migrations';
import { Registry } from '../src/core/registry/registry';
import { ModelQuery, RegistryRepositories } from '../src/core/registry/repositories';
import { loadSqlJs } from '../src/core/registry/sqljs';
import { collectGarbage, round, summarize, Summary } from './lib/stats';
import { envNumber, rng } from './lib/params';

const log = (msg: string) => process.stderr.write(`[bench:registry] ${msg}\n`);
const DAY = 86_400_000;
const MB = 2 ** 20;
const mb = (bytes: number) => round(bytes / MB, 1);



function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

async function timedAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

const pct = (s: Summary) => ({ p50Ms: s.p50Ms, p95Ms: s.p95Ms, minMs: s.minMs, maxMs: s.maxMs, meanMs: s.meanMs, n: s.n });

// ---------------------------------------------------------------------------------------------
// The data set

const RUNTIMES = [
  { kind: 'ollama', name: 'Ollama', endpoint: 'http://127.0.0.1:11434', share: 0.5, format: 'gguf' },
  { kind: 'llamacpp', name: 'llama.cpp server', endpoint: 'http://127.0.0.1:8080', share: 0.3, format: 'gguf' },
  { kind: 'vllm', name: 'vLLM', endpoint: 'http://127.0.0.1:8000', share: 0.2, format: 'safetensors' },
] as const;

/** family, name stems, parameter counts (billions), weight, license. */
const FAMILIES = [
  { family: 'llama', stems: ['llama3.1', 'llama3.2', 'llama3.3', 'codellama'], params: [1, 3, 8, 13, 70], weight: 20, license: 'llama3.1' },
  { family: 'qwen2', stems: ['qwen2.5', 'qwen2.5-coder'], params: [0.5, 1.5, 3, 7, 14, 32, 72], weight: 16, license: 'apache-2.0' },
  { family: 'qwen3', stems: ['qwen3'], params: [0.6, 1.7, 4, 8, 14, 30, 32], weight: 10, license: 'apache-2.0' },
  { family: 'mistral', stems: ['mistral', 'mistral-nemo', 'mistral-small'], params: [7, 12, 22, 24], weight: 10, license: 'apache-2.0' },
  { family: 'gemma3', stems: ['gemma2', 'gemma3'], params: [1, 2, 4, 9, 12, 27], weight: 9, license: 'gemma' },
  { family: 'phi3', stems: ['phi3', 'phi3.5', 'phi4'], params: [3.8, 14], weight: 7, license: 'mit' },
  { family: 'deepseek2', stems: ['deepseek-r1', 'deepseek-coder-v2'], params: [1.5, 7, 8, 14, 16, 32, 70], weight: 9, license: 'mit' },
  { family: 'starcoder2', stems: ['starcoder2'], params: [3, 7, 15], weight: 4, license: 'bigcode-openrail-m' },
  { family: 'granite', stems: ['granite3.1-dense', 'granite3.3'], params: [2, 8], weight: 4, license: 'apache-2.0' },
  { family: 'command-r', stems: ['command-r', 'command-r7b'], params: [7, 35], weight: 3, license: 'cc-by-nc-4.0' },
  { family: 'mixtral', stems: ['mixtral'], params: [47, 141], weight: 3, license: 'apache-2.0' },
  { family: 'smollm', stems: ['smollm2'], params: [0.135, 0.36, 1.7], weight: 5, license: 'apache-2.0' },
] as const;

const VARIANTS = ['instruct', 'chat', 'base', 'coder', 'vision', 'uncensored', 'abliterated', 'lora-merged', 'it', 'distill'];
/** Quantizations (bits per weight) per model format. */
const GGUF_QUANTS = [
  { q: 'Q4_K_M', bpw: 4.89, w: 40 },
  { q: 'Q4_0', bpw: 4.55, w: 15 },
  { q: 'Q5_K_M', bpw: 5.69, w: 12 },
  { q: 'Q6_K', bpw: 6.56, w: 8 },
  { q: 'Q8_0', bpw: 8.5, w: 15 },
  { q: 'F16', bpw: 16, w: 5 },
  { q: 'IQ3_M', bpw: 3.66, w: 5 },
];
const HF_QUANTS = [
  { q: 'AWQ', bpw: 4.25, w: 35 },
  { q: 'GPTQ', bpw: 4.25, w: 20 },
  { q: 'FP8', bpw: 8, w: 25 },
  { q: 'BF16', bpw: 16, w: 20 },
];
const CONTEXTS = [2048, 4096, 8192, 32768, 131072];
/** Usage kinds (all of the schema's CHECK list), weighted like real use. */
const KINDS = [
  { kind: 'generate', w: 70 },
  { kind: 'load', w: 12 },
  { kind: 'unload', w: 11 },
  { kind: 'pull', w: 3 },
  { kind: 'benchmark', w: 2 },
  { kind: 'delete', w: 2 },
] as const;

function weighted<T extends { w?: number; weight?: number }>(r: () => number, xs: readonly T[]): T {
  const total = xs.reduce((a, x) => a + (x.w ?? x.weight ?? 1), 0);
  let u = r() * total;
  for (const x of xs) {
    u -= x.w ?? x.weight ?? 1;
    if (u < 0) return x;
  }
  return xs[xs.length - 1];
}

function digestOf(model: number, version: number): string {
  return 'sha256:' + createHash('sha256').update(`bench-model-${model}-v${version}`).digest('hex');
}

interface DataSet {
  readonly models: number;
  readonly versions: number;
  readonly events: number;
  readonly runtimes: number;
  /** The "now" the data set was built around (usage spreads over the 365 days before it). */
  readonly now: number;
  readonly families: string[];
  readonly buildMs: number;
  readonly phasesMs: Record<string, number>;
}

/**
 * Builds the data set once, with sql.js directly: the schema comes from Registry.open (the real
 * migrations), then everything goes in in one transaction through prepared statements.
 */
export async function buildDataSet(file: string, modelCount: number, versionsPerModel: number, eventCount: number, o: { workingSet?: number } = {}): Promise<DataSet> {
  const t0 = performance.now();
  const phasesMs: Record<string, number> = {};
  const now = Date.now();
  const r = rng(20250101);

  // Usage events first (in memory), so each model's last_used_at is its real latest event.
  let t = performance.now();
  const tsArr = new Float64Array(eventCount);
  for (let i = 0; i < eventCount; i++) tsArr[i] = now - Math.floor(r() * 365 * DAY);
  tsArr.sort(); // an append-only log: ids in time order
  const modelOf = new Int32Array(eventCount);
  const lastUsed = new Float64Array(modelCount + 1);
  for (let i = 0; i < eventCount; i++) {
    // Half the events go to any model, half to a skewed few (a favourite model sees ~1,600 a year).
    // o.workingSet: one user's year, every event on one of that many models (spread over the ids),
    // the first ones used most.
    const ws = o.workingSet ? Math.min(o.workingSet, modelCount) : 0;
    const idx = ws ? Math.floor(r() ** 2 * ws) * Math.floor(modelCount / ws) : r() < 0.5 ? Math.floor(r() * modelCount) : Math.floor(modelCount * r() ** 2);
    const id = Math.min(idx, modelCount - 1) + 1;
    modelOf[i] = id;
    if (tsArr[i] > lastUsed[id]) lastUsed[id] = tsArr[i];
  }
  phasesMs.generateEvents = round(performance.now() - t);

  t = performance.now();
  const registry = await Registry.open({ file, persistDelayMs: 3_600_000 });
  const db = registry.raw;
  phasesMs.schema = round(performance.now() - t);
  const statements: Statement[] = [];
  const prep = (sqlText: string) => {
    const s = db.prepare(sqlText);
    statements.push(s);
    return s;
  };
  try {
    db.run('PRAGMA foreign_keys = OFF'); // every reference is valid by construction
    db.run('BEGIN');
    const insRuntime = prep('INSERT INTO runtimes (id, kind, name, endpoint, container_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    RUNTIMES.forEach((rt, i) => insRuntime.run([i + 1, rt.kind, rt.name, rt.endpoint, null, now - 400 * DAY, now - DAY]));

    t = performance.now();
    const insModel = prep(
      `INSERT INTO models (id, runtime_id, name, tag, family, parameter_count, quantization, context_length, size_bytes, digest, format, source, license, created_at, updated_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insVersion = prep('INSERT INTO model_versions (model_id, digest, first_seen, last_seen, pinned) VALUES (?, ?, ?, ?, ?)');
    const row: SqlValue[] = new Array(16);
    const vrow: SqlValue[] = new Array(5);
    for (let id = 1; id <= modelCount; id++) {
      const u = r();
      const rtIndex = u < RUNTIMES[0].share ? 0 : u < RUNTIMES[0].share + RUNTIMES[1].share ? 1 : 2;
      const rt = RUNTIMES[rtIndex];
      const fam = weighted(r, FAMILIES);
      const stem = fam.stems[Math.floor(r() * fam.stems.length)];
      const billions = fam.params[Math.floor(r() * fam.params.length)];
      const variant = VARIANTS[Math.floor(r() * VARIANTS.length)];
      const quant = weighted(r, rt.format === 'gguf' ? GGUF_QUANTS : HF_QUANTS);
      const sizeBytes = Math.round(((billions * 1e9 * quant.bpw) / 8) * (0.97 + r() * 0.06));
      const created = now - Math.floor((30 + r() * 700) * DAY);
      const versionTimes = [created, created + Math.floor(r() * 10 * DAY), created + Math.floor((10 + r() * 20) * DAY)];
      const name = rt.kind === 'vllm' ? `hf-user${id % 977}/${stem}-${variant}-${id.toString(36)}` : `${stem}-${variant}-${id.toString(36)}`;
      const tag = `${billions}b-${quant.q.toLowerCase()}`;
      const last = lastUsed[id] || null;
      row[0] = id;
      row[1] = rtIndex + 1;
      row[2] = name;
      row[3] = tag;
      row[4] = fam.family;
      row[5] = Math.round(billions * 1e9);
      row[6] = quant.q;
      row[7] = CONTEXTS[Math.floor(r() * CONTEXTS.length)];
      row[8] = sizeBytes;
      row[9] = digestOf(id, versionsPerModel - 1);
      row[10] = rt.format;
      row[11] = rt.kind === 'vllm' ? `hf.co/${name}` : `ollama.com/library/${stem}`;
      row[12] = r() < 0.9 ? fam.license : null;
      row[13] = created;
      row[14] = versionTimes[versionTimes.length - 1];
      row[15] = last;
      insModel.run(row);
      for (let v = 0; v < versionsPerModel; v++) {
        const first = versionTimes[Math.min(v, versionTimes.length - 1)] + v;
        vrow[0] = id;
        vrow[1] = digestOf(id, v);
        vrow[2] = first;
        vrow[3] = v === versionsPerModel - 1 ? Math.max(first, last ?? first) : first + DAY;
        vrow[4] = v === 0 && r() < 0.05 ? 1 : 0;
        insVersion.run(vrow);
      }
    }
    phasesMs.insertModelsAndVersions = round(performance.now() - t);

    t = performance.now();
    const insEvent = prep('INSERT INTO usage_events (model_id, ts, kind, duration_ms, prompt_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?)');
    const erow: SqlValue[] = new Array(6);
    for (let i = 0; i < eventCount; i++) {
      const kind = weighted(r, KINDS).kind;
      erow[0] = modelOf[i];
      erow[1] = tsArr[i];
      erow[2] = kind;
      erow[3] = null;
      erow[4] = null;
      erow[5] = null;
      if (kind === 'generate' || kind === 'benchmark') {
        erow[3] = 200 + Math.floor(r() * 60_000);
        erow[4] = 10 + Math.floor(r() * 4000);
        erow[5] = 10 + Math.floor(r() * 2000);
      } else if (kind === 'load') erow[3] = 500 + Math.floor(r() * 20_000);
      else if (kind === 'pull') erow[3] = 10_000 + Math.floor(r() * 600_000);
      else if (kind === 'unload') erow[3] = Math.floor(r() * 2000);
      insEvent.run(erow);
    }
    phasesMs.insertEvents = round(performance.now() - t);

    t = performance.now();
    db.run('COMMIT');
    phasesMs.commit = round(performance.now() - t);
  } catch (e) {
    try {
      db.run('ROLLBACK');
    } catch {
      /* not in a transaction */
    }
    throw e;
  } finally {
    for (const s of statements) s.free();
  }
  const counts = registry.counts();
  t = performance.now();
  // The bulk load went around the journal (raw statements): write it as a full snapshot.
  await registry.compact();
  phasesMs.persist = round(performance.now() - t);
  await registry.close();
  if (counts.models !== modelCount || counts.model_versions !== modelCount * versionsPerModel || counts.usage_events !== eventCount) {
    throw new Error(`the data set came out wrong: ${JSON.stringify(counts)}`);
  }
  return {
    models: counts.models,
    versions: counts.model_versions,
    events: counts.usage_events,
    runtimes: counts.runtimes,
    now,
    families: FAMILIES.map((f) => f.family),
    buildMs: round(performance.now() - t0),
    phasesMs,
  };
}

// ---------------------------------------------------------------------------------------------
// Native SQLite (better-sqlite3), for the baseline

interface NativeStatement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
}
interface NativeDb {
  prepare(sqlText: string): NativeStatement;
  close(): void;
}
type NativeCtor = new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => NativeDb;

function loadNative(): { ctor: NativeCtor; version: string } | { error: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ctor = require('better-sqlite3') as NativeCtor;
    let version = 'unknown';
    try {
      const main = require.resolve('better-sqlite3');
      let dir = path.dirname(main);
      while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
      version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
    } catch {
      /* version only informs */
    }
    return { ctor, version };
  } catch (e) {
    return { error: `better-sqlite3 could not be loaded (npm install --save-dev better-sqlite3@12; npm rebuild better-sqlite3): ${errorMessage(e)}` };
  }
}

class NativeRunner {
  private readonly statements = new Map<string, NativeStatement>();
  constructor(readonly db: NativeDb) {}
  /** Same shape of work as Registry.all: a cached prepared statement, all rows as objects. */
  all(sqlText: string, params: readonly SqlValue[]): unknown[] {
    let s = this.statements.get(sqlText);
    if (!s) {
      s = this.db.prepare(sqlText);
      this.statements.set(sqlText, s);
    }
    return s.all(...params);
  }
}

// ---------------------------------------------------------------------------------------------
// Capturing the exact SQL the repositories run

interface Captured {
  sql: string;
  params: SqlValue[];
  rows: number;
}

/** Runs fn with registry.all wrapped, returning the (last) SQL text and parameters it used. */
function capture(registry: Registry, fn: () => unknown): Captured {
  const target = registry as unknown as { all: (sqlText: string, params?: unknown) => unknown[] };
  const original = target.all;
  let seen: Captured | undefined;
  target.all = function (this: unknown, sqlText: string, params: unknown = []) {
    const rows = original.call(this, sqlText, params);
    seen = { sql: sqlText, params: [...(params as SqlValue[])], rows: rows.length };
    return rows;
  };
  try {
    fn();
  } finally {
    delete (target as { all?: unknown }).all; // back to the prototype's method
  }
  if (!seen) throw new Error('the repository method ran no query through Registry.all');
  return seen;
}

// ---------------------------------------------------------------------------------------------
// Phases

/** Registry.open step by step, on the same sql.js instance: where the open time goes. */
async function openBreakdown(file: string, reps: number) {
  const sql = await loadSqlJs();
  const readFile: number[] = [];
  const newDatabase: number[] = [];
  const integrity: number[] = [];
  const quick: number[] = [];
  const schemaCheck: number[] = [];
  const close: number[] = [];
  for (let i = 0; i < reps; i++) {
    const [data, tRead] = await timedAsync(() => readIfExists(file));
    readFile.push(tRead);
    const [db, tNew] = timed(() => new sql.Database(data!));
    newDatabase.push(tNew);
    try {
      const [res, tInt] = timed(() => db.exec('PRAGMA integrity_check'));
      integrity.push(tInt);
      if (String(res[0]?.values[0]?.[0]) !== 'ok') throw new Error(`integrity_check said ${JSON.stringify(res[0]?.values.slice(0, 3))}`);
      const [q, tQuick] = timed(() => db.exec('PRAGMA quick_check'));
      quick.push(tQuick);
      if (String(q[0]?.values[0]?.[0]) !== 'ok') throw new Error(`quick_check said ${JSON.stringify(q[0]?.values.slice(0, 3))}`);
      schemaCheck.push(
        timed(() => {
          db.exec('PRAGMA user_version');
          db.exec("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('models','runtimes')");
        })[1],
      );
    } finally {
      close.push(timed(() => db.close())[1]);
    }
  }
  const m = (xs: number[]) => round(median(xs));
  return {
    readFileMs: m(readFile),
    newDatabaseMs: m(newDatabase),
    integrityCheckMs: m(integrity),
    schemaCheckMs: m(schemaCheck),
    closeMs: m(close),
    quickCheckMs: m(quick),
    reps,
    note: 'medians of the steps of Registry.open done one by one with the same sql.js instance; quick_check is not part of open, shown for comparison',
  };
}

function listCases(runtimes: number, families: readonly string[], runs: number, seed: number): { label: string; query: ModelQuery }[] {
  const r = rng(seed);
  const sorts = ['name', 'size', 'lastUsed'] as const;
  const out: { label: string; query: ModelQuery }[] = [];
  for (let i = 0; i < runs; i++) {
    const sort = sorts[i % 3];
    const descending = Math.floor(i / 3) % 2 === 1;
    const withFamily = Math.floor(i / 6) % 2 === 1;
    const query: ModelQuery = { runtimeId: 1 + Math.floor(r() * runtimes), sort, descending, limit: 200 };
    if (withFamily) query.family = families[Math.floor(r() * families.length)];
    out.push({ label: `${sort}-${descending ? 'desc' : 'asc'}${withFamily ? '+family' : ''}`, query });
  }
  return out;
}

interface QueryTimings {
  sqljs: number[];
  sqljsRaw: number[];
  native: number[];
  rows: number[];
}

/**
 * Times each query three ways, interleaved so that noise from other processes hits all three
 * alike: through the repository (zod in, sql.js, zod out), the same SQL on Registry.all (sql.js
 * only), and the same SQL on better-sqlite3.
 */
function timeQueries(repoCall: (() => unknown)[], captured: Captured[], registry: Registry, native: NativeRunner | undefined, warmup: number): QueryTimings {
  const out: QueryTimings = { sqljs: [], sqljsRaw: [], native: [], rows: [] };
  for (let i = 0; i < Math.min(warmup, repoCall.length); i++) {
    repoCall[i]();
    registry.all(captured[i].sql, captured[i].params);
    native?.all(captured[i].sql, captured[i].params);
  }
  for (let i = 0; i < repoCall.length; i++) {
    const c = captured[i];
    out.sqljs.push(timed(repoCall[i])[1]);
    out.sqljsRaw.push(timed(() => registry.all(c.sql, c.params))[1]);
    if (native) {
      const [rows, dt] = timed(() => native.all(c.sql, c.params));
      out.native.push(dt);
      if (rows.length !== c.rows) throw new Error(`native returned ${rows.length} rows where sql.js returned ${c.rows} for ${c.sql} ${JSON.stringify(c.params)}`);
    }
    out.rows.push(c.rows);
  }
  return out;
}

const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? round(a / b, 2) : null);

// ---------------------------------------------------------------------------------------------
// Memory, in a fresh process: sql.js's WASM heap never shrinks, so after building the data set
// this process cannot show what opening the registry costs.

interface MemoryReport {
  openColdMs: number;
  baseline: Record<string, number>;
  afterOpen: Record<string, number>;
  afterQueries: Record<string, number>;
  afterPersist: Record<string, number>;
  gc: boolean;
}

function memorySnapshot(): Record<string, number> {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function memoryChild(file: string, now: number): Promise<MemoryReport> {
  const gc = await collectGarbage();
  const baseline = memorySnapshot();
  const [registry, openColdMs] = await timedAsync(() => Registry.open({ file, persistDelayMs: 3_600_000 }));
  try {
    await collectGarbage();
    const afterOpen = memorySnapshot();
    const repos = new RegistryRepositories(registry, () => now);
    const r = rng(7);
    const sorts = ['name', 'size', 'lastUsed'] as const;
    for (let i = 0; i < 200; i++) {
      repos.listModels({ runtimeId: 1 + (i % 3), sort: sorts[i % 3], descending: i % 2 === 1, limit: 200 });
      repos.usageByDay(1 + Math.floor(r() * 1000), 30, now);
    }
    await collectGarbage();
    const afterQueries = memorySnapshot();
    repos.setNote(1, `memory probe ${Date.now()}`);
    await registry.persistNow();
    await collectGarbage();
    const afterPersist = memorySnapshot();
    return { openColdMs, baseline, afterOpen, afterQueries, afterPersist, gc };
  } finally {
    await registry.close();
  }
}

export function runMemoryChild(file: string, now: number, timeoutMs = 180_000): Promise<MemoryReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', __filename, '--memory-child', file, String(now)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && last) {
        try {
          return resolve(JSON.parse(last) as MemoryReport);
        } catch {
          /* fall through */
        }
      }
      reject(new Error(`memory child exited ${code ?? signal}: ${stderr.trim().slice(-2000) || stdout.trim().slice(-500)}`));
    });
  });
}

function memoryDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(b)) out[k] = mb(b[k] - a[k]);
  return out;
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<Record<string, unknown>> {
  const modelCount = envNumber('BENCH_REGISTRY_MODELS', 100_000);
  const versionsPerModel = envNumber('BENCH_REGISTRY_VERSIONS_PER_MODEL', 3);
  const eventCount = envNumber('BENCH_REGISTRY_EVENTS', 1_000_000);
  const runs = Math.max(200, envNumber('BENCH_REGISTRY_RUNS', 300));
  const warmup = 24;
  const opens = 5;
  const persists = 5;
  const warnings: string[] = [];
  const phaseSeconds: Record<string, number> = {};
  const phase = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    log(name);
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      phaseSeconds[name] = round((Date.now() - t0) / 1000, 1);
    }
  };
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') warnings.push('global.gc is not available (run node with --expose-gc): memory figures are less reliable');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-bench-registry-'));
  const file = path.join(tmp, 'registry.sqlite');
  const loadAvgStart = os.loadavg().map((x) => round(x, 2));
  try {
    // sql.js's first load (WASM compile) happens here, before anything else touches it.
    const [, sqlJsInitMs] = await timedAsync(() => loadSqlJs());

    const data = await phase('build', () => buildDataSet(file, modelCount, versionsPerModel, eventCount));
    const fileBytes = fs.statSync(file).size;
    log(`built ${data.models} models, ${data.versions} versions, ${data.events} events in ${(data.buildMs / 1000).toFixed(1)} s; file ${mb(fileBytes)} MB`);
    await collectGarbage();

    // ---- open: Registry.open = read + CRC-32 of the snapshot against the journal header (the full
    // integrity_check runs only when they do not match) + new Database + version/schema check + replay
    const openSamples = await phase('open', async () => {
      const samples: number[] = [];
      for (let i = 0; i < opens; i++) {
        const [reg, dt] = await timedAsync(() => Registry.open({ file, persistDelayMs: 3_600_000 }));
        samples.push(dt);
        if (reg.migrated || reg.recovery) warnings.push(`open ${i}: the registry was ${reg.migrated ? 'migrated' : 'recovered'}; the open time includes that`);
        await reg.close();
        await collectGarbage();
      }
      return samples;
    });
    const breakdown = await phase('openBreakdown', () => openBreakdown(file, 3));

    // ---- native baseline handles
    const nativeLib = loadNative();
    let nativeDb: NativeDb | undefined;
    let nativeOpen: Record<string, unknown> = {};
    if ('error' in nativeLib) warnings.push(nativeLib.error);
    else {
      nativeOpen = await phase('nativeOpen', () => {
        const openS: number[] = [];
        const integrityS: number[] = [];
        const quickS: number[] = [];
        let sqliteVersion = '';
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          const db = new nativeLib.ctor(file, { readonly: true, fileMustExist: true });
          db.prepare('PRAGMA user_version').get(); // SQLite opens lazily: read the header once
          openS.push(performance.now() - t0);
          integrityS.push(timed(() => db.prepare('PRAGMA integrity_check').all())[1]);
          quickS.push(timed(() => db.prepare('PRAGMA quick_check').all())[1]);
          sqliteVersion = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
          db.close();
        }
        return {
          openMs: round(median(openS)),
          integrityCheckMs: round(median(integrityS)),
          quickCheckMs: round(median(quickS)),
          note: 'native open = constructor (readonly) + PRAGMA user_version; native SQLite reads pages on demand, so its open does not load the file. Medians of 3.',
          sqliteVersion,
          betterSqlite3Version: nativeLib.version,
        };
      });
      nativeDb = new nativeLib.ctor(file, { readonly: true, fileMustExist: true });
    }
    const native = nativeDb ? new NativeRunner(nativeDb) : undefined;

    // ---- queries
    const registry = await Registry.open({ file, persistDelayMs: 3_600_000 });
    let persistResult: Record<string, unknown>;
    let list: QueryTimings;
    let listLabels: string[];
    let usage: QueryTimings;
    let usageHot: QueryTimings;
    let plans: Record<string, string[]> = {};
    let sqljsSqliteVersion = '';
    try {
      sqljsSqliteVersion = String(registry.get<{ v: string }>('SELECT sqlite_version() AS v')?.v ?? '');
      const repos = new RegistryRepositories(registry, () => data.now);

      const cases = listCases(data.runtimes, data.families, runs, 99);
      listLabels = cases.map((c) => c.label);
      const listCalls = cases.map((c) => () => repos.listModels(c.query));
      const listCaptured = listCalls.map((f) => capture(registry, f));
      list = await phase('listQuery', () => timeQueries(listCalls, listCaptured, registry, native, warmup));

      const r = rng(1234);
      const randomIds = Array.from({ length: runs }, () => 1 + Math.floor(r() * data.models));
      const usageCalls = randomIds.map((id) => () => repos.usageByDay(id, 30, data.now));
      const usageCaptured = usageCalls.map((f) => capture(registry, f));
      usage = await phase('usage30d', () => timeQueries(usageCalls, usageCaptured, registry, native, warmup));

      // The busiest models (low ids get the skewed half of the events), for the heavy end.
      const hotIds = Array.from({ length: runs }, (_, i) => 1 + (i % 50));
      const hotCalls = hotIds.map((id) => () => repos.usageByDay(id, 30, data.now));
      const hotCaptured = hotCalls.map((f) => capture(registry, f));
      usageHot = await phase('usage30dHot', () => timeQueries(hotCalls, hotCaptured, registry, native, warmup));

      if (nativeDb) {
        const seen = new Map<string, Captured>();
        listCaptured.forEach((c, i) => seen.has(listLabels[i]) || seen.set(listLabels[i], c));
        seen.set('usage30d', usageCaptured[0]);
        plans = Object.fromEntries(
          [...seen].map(([label, c]) => [label, (nativeDb!.prepare(`EXPLAIN QUERY PLAN ${c.sql}`).all(...c.params) as { detail: string }[]).map((p) => p.detail)]),
        );
      }

      // ---- persist: a small transaction, then persistNow (journal append + fdatasync); compaction separately
      persistResult = await phase('persist', async () => {
        const samples: number[] = [];
        for (let i = 0; i < persists; i++) {
          repos.recordUsage({ modelId: 1 + i, kind: 'generate', ts: data.now + i, durationMs: 1234, promptTokens: 100, outputTokens: 200 });
          samples.push((await timedAsync(() => registry.persistNow()))[1]);
        }
        // Where persist time goes, on a separate handle (export() on the registry's own would free its statements).
        const sql = await loadSqlJs();
        const bytes = (await readIfExists(file))!;
        const db: SqlJsDatabase = new sql.Database(bytes);
        let exportMs: number;
        let exported: Uint8Array;
        try {
          [exported, exportMs] = timed(() => db.export());
        } finally {
          db.close();
        }
        const [, compactMs] = await timedAsync(() => registry.compact());
        const scratch = path.join(tmp, 'scratch', 'export.sqlite');
        const [, writeMs] = await timedAsync(() => writeAtomic(scratch, exported));
        fs.rmSync(path.dirname(scratch), { recursive: true, force: true });
        return {
          samplesMs: samples.map((x) => round(x)),
          compactMs: round(compactMs),
          exportMs: round(exportMs),
          writeAtomicMs: round(writeMs),
          fileMB: mb(fs.statSync(file).size),
          note: 'persistMs = median of persistNow() after one recordUsage transaction (a journal append + fdatasync); compactMs = one full snapshot (export + atomic write + new journal), which runs when the journal passes 16 MiB; exportMs/writeAtomicMs = one separate run of each step',
        };
      });
    } finally {
      await registry.close();
      nativeDb?.close();
    }

    // ---- memory, in a fresh process
    let memory: Record<string, unknown> = {};
    let memoryMB: number | null = null;
    await phase('memory', async () => {
      try {
        const m = await runMemoryChild(file, data.now);
        const afterOpen = memoryDelta(m.baseline, m.afterOpen);
        memoryMB = afterOpen.rss;
        memory = {
          afterOpenMB: afterOpen,
          afterQueriesMB: memoryDelta(m.baseline, m.afterQueries),
          afterPersistMB: memoryDelta(m.baseline, m.afterPersist),
          baselineMB: Object.fromEntries(Object.entries(m.baseline).map(([k, v]) => [k, mb(v)])),
          openColdMs: round(m.openColdMs),
          gc: m.gc,
          note:
            'deltas from before Registry.open in a fresh node process (--expose-gc, gc before each sample); openColdMs includes loading sql.js (WASM compile). memoryMB = rss delta after open. sql.js keeps the file in MEMFS (arrayBuffers) and its WASM heap never shrinks.',
        };
        if (!m.gc) warnings.push('memory measured without global.gc');
      } catch (e) {
        warnings.push(`memory: ${errorMessage(e)}`);
      }
    });

    // ---- figures
    const s = (xs: number[]) => summarize(xs, 3);
    const listS = s(list.sqljs);
    const usageS = s(usage.sqljs);
    const hotS = s(usageHot.sqljs);
    const listN = native ? s(list.native) : undefined;
    const usageN = native ? s(usage.native) : undefined;
    const hotN = native ? s(usageHot.native) : undefined;
    const listRaw = s(list.sqljsRaw);
    const usageRaw = s(usage.sqljsRaw);
    const hotRaw = s(usageHot.sqljsRaw);
    const avg = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), 1);

    const byCase: Record<string, unknown> = {};
    for (const label of [...new Set(listLabels)]) {
      const idx = listLabels.flatMap((l, i) => (l === label ? [i] : []));
      const pick = (xs: number[]) => idx.map((i) => xs[i]);
      byCase[label] = {
        p50Ms: s(pick(list.sqljs)).p50Ms,
        rawP50Ms: s(pick(list.sqljsRaw)).p50Ms,
        nativeP50Ms: native ? s(pick(list.native)).p50Ms : null,
        n: idx.length,
        rowsAvg: avg(pick(list.rows)),
      };
    }

    const openMs = round(median(openSamples));
    const persistMs = round(median((persistResult.samplesMs as number[]) ?? []));
    const ratios = {
      listQuery: listN ? ratio(listS.p50Ms, listN.p50Ms) : null,
      usage30d: usageN ? ratio(usageS.p50Ms, usageN.p50Ms) : null,
      usage30dHot: hotN ? ratio(hotS.p50Ms, hotN.p50Ms) : null,
      listQueryRaw: listN ? ratio(listRaw.p50Ms, listN.p50Ms) : null,
      usage30dRaw: usageN ? ratio(usageRaw.p50Ms, usageN.p50Ms) : null,
      listQueryP95: listN ? ratio(listS.p95Ms, listN.p95Ms) : null,
      usage30dP95: usageN ? ratio(usageS.p95Ms, usageN.p95Ms) : null,
      open: typeof nativeOpen.openMs === 'number' ? ratio(openMs, nativeOpen.openMs) : null,
      note: 'p50 sql.js / p50 native (better-sqlite3) unless named otherwise; *Raw = the same SQL on Registry.all without the repository (no zod), i.e. engine against engine',
    };
    const target = (value: number | null, limit: number, unit: string) => ({ target: `<= ${limit} ${unit}`, value, met: value !== null && Number.isFinite(value) && value <= limit });
    const targets = {
      openMs: target(openMs, 300, 'ms'),
      listQueryP50Ms: target(listS.p50Ms, 2, 'ms'),
      usage30dP50Ms: target(usageS.p50Ms, 10, 'ms'),
      persistMs: target(persistMs, 200, 'ms'),
      listQueryVsNative: target(ratios.listQuery, 2, 'x native'),
      usage30dVsNative: target(ratios.usage30d, 2, 'x native'),
    };
    const missed = Object.entries(targets).filter(([, t]) => !t.met).map(([k]) => k);

    const loadAvgEnd = os.loadavg().map((x) => round(x, 2));
    if (loadAvgEnd[0] > os.cpus().length) warnings.push(`the machine was busy (load average ${loadAvgEnd[0]} on ${os.cpus().length} cores): figures are noisy`);

    return {
      openMs,
      listQuery: { ...pct(listS), rowsAvg: avg(list.rows), runs, warmupRuns: warmup, byCase },
      usage30d: { ...pct(usageS), rowsAvg: avg(usage.rows), runs, warmupRuns: warmup, models: 'uniformly random model ids' },
      usage30dHot: { ...pct(hotS), rowsAvg: avg(usageHot.rows), runs, warmupRuns: warmup, models: 'the 50 busiest models' },
      persistMs,
      memoryMB,
      quickCheckMs: breakdown.quickCheckMs,
      native: native
        ? {
            ...nativeOpen,
            listQuery: pct(listN!),
            usage30d: pct(usageN!),
            usage30dHot: pct(hotN!),
          }
        : null,
      ratio: ratios,
      targets,
      targetsMissed: missed,
      open: {
        samplesMs: openSamples.map((x) => round(x)),
        p50Ms: openMs,
        minMs: round(Math.min(...openSamples)),
        maxMs: round(Math.max(...openSamples)),
        runs: opens,
        coldMs: (memory as { openColdMs?: number }).openColdMs ?? null,
        breakdown,
        sqlJsInitMs: round(sqlJsInitMs),
        note: 'Registry.open on the existing file (read, CRC-32 against the journal header, new Database, user_version/schema check, journal replay), then close; sql.js already loaded. The full PRAGMA integrity_check runs only when the snapshot does not match its journal header (see openBreakdown.integrityCheckMs). coldMs = first open in a fresh process, including the WASM load.',
      },
      sqljsRaw: { listQuery: pct(listRaw), usage30d: pct(usageRaw), usage30dHot: pct(hotRaw) },
      persist: { ...persistResult, p50Ms: persistMs, runs: persists },
      memory,
      fileMB: mb(fileBytes),
      dataset: {
        runtimes: data.runtimes,
        models: data.models,
        modelVersions: data.versions,
        usageEvents: data.events,
        usageSpanDays: 365,
        buildMs: data.buildMs,
        buildPhasesMs: data.phasesMs,
        fileMB: mb(fileBytes),
        note: 'built once with sql.js (schema from Registry.open, then one transaction of prepared INSERTs); half the events to uniformly random models, half skewed to low ids',
      },
      plans,
      environment: {
        sqlJsVersion: readPackageVersion('sql.js'),
        sqljsSqliteVersion,
        nativeSqliteVersion: (nativeOpen.sqliteVersion as string | undefined) ?? null,
        betterSqlite3Version: (nativeOpen.betterSqlite3Version as string | undefined) ?? null,
        schemaVersion: LATEST_VERSION,
        tmpDir: os.tmpdir(),
        loadAvgStart,
        loadAvgEnd,
      },
      phaseSeconds,
      warnings,
    };
  } finally {
    if (process.env.BENCH_REGISTRY_KEEP === '1') log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function readPackageVersion(name: string): string | null {
  try {
    let dir = path.dirname(require.resolve(name));
    while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version ?? null;
  } catch {
    return null;
  }
}

// The memory probe runs this file on its own: node --expose-gc registry.js --memory-child FILE NOW
if (require.main === module && process.argv[2] === '--memory-child') {
  memoryChild(process.argv[3], Number(process.argv[4])).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
