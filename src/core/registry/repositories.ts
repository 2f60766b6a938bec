// Typed access to the registry's tables. Inputs are validated with zod before they reach SQL, and
// reach it only as bound parameters; rows read back are validated too.
import { z } from 'zod';
import { RegistryError } from './fileStore';
import type { Registry } from './registry';

const text = (max: number) => z.string().trim().min(1).max(max);
const optText = (max: number) => z.string().max(max).nullish().transform((v) => v ?? null);
const optInt = z.number().int().nonnegative().nullish().transform((v) => v ?? null);

export const runtimeKindSchema = z.enum(['ollama', 'llamacpp', 'vllm', 'tgi', 'localai', 'lmstudio', 'openai', 'gguf', 'other']);

const runtimeInputSchema = z.object({
  kind: runtimeKindSchema,
  name: text(200),
  endpoint: text(2000),
  containerId: optText(128),
});
export type RuntimeInput = z.input<typeof runtimeInputSchema>;

const runtimeRowSchema = z.object({
  id: z.number(),
  kind: z.string(),
  name: z.string(),
  endpoint: z.string(),
  container_id: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
type RuntimeRow = z.infer<typeof runtimeRowSchema>;

export const digestSchema = z.string().regex(/^(sha256:)?[0-9a-f]{64}$/, 'a digest is sha256:<64 hex digits>');

const modelInputSchema = z.object({
  runtimeId: z.number().int().positive(),
  name: text(300),
  tag: z.string().trim().min(1).max(200).default('latest'),
  family: optText(100),
  parameterCount: optInt,
  quantization: optText(50),
  contextLength: optInt,
  sizeBytes: optInt,
  digest: digestSchema.nullish().transform((v) => v ?? null),
  format: optText(50),
  source: optText(2000),
  license: optText(200),
});
export type ModelInput = z.input<typeof modelInputSchema>;

const modelRowSchema = z.object({
  id: z.number(),
  runtime_id: z.number(),
  name: z.string(),
  tag: z.string(),
  family: z.string().nullable(),
  parameter_count: z.number().nullable(),
  quantization: z.string().nullable(),
  context_length: z.number().nullable(),
  size_bytes: z.number().nullable(),
  digest: z.string().nullable(),
  format: z.string().nullable(),
  source: z.string().nullable(),
  license: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
  last_used_at: z.number().nullable(),
});
export type ModelRow = z.infer<typeof modelRowSchema>;

export const usageKindSchema = z.enum(['load', 'unload', 'generate', 'pull', 'benchmark', 'delete']);
const usageInputSchema = z.object({
  modelId: z.number().int().positive(),
  kind: usageKindSchema,
  ts: z.number().int().nonnegative().optional(),
  durationMs: optInt,
  promptTokens: optInt,
  outputTokens: optInt,
  ttftMs: optInt,
  client: z.string().max(100).nullish().transform((v) => v ?? null),
});
type UsageInput = z.input<typeof usageInputSchema>;

const benchmarkInputSchema = z.object({
  modelId: z.number().int().positive(),
  runtimeId: z.number().int().positive().nullish().transform((v) => v ?? null),
  hardware: text(500),
  promptSet: text(200),
  ttftMs: z.number().nonnegative().nullish().transform((v) => v ?? null),
  promptTps: z.number().nonnegative().nullish().transform((v) => v ?? null),
  genTps: z.number().nonnegative().nullish().transform((v) => v ?? null),
  memoryBytes: optInt,
  ts: z.number().int().nonnegative().optional(),
  concurrency: z.number().int().min(1).max(1024).default(1),
  /** The run this level belongs to (one row per concurrency level). */
  runId: z.string().max(100).nullish().transform((v) => v ?? null),
  /** JSON: the run's settings, the runtime and model facts, the percentiles and the raw samples. */
  details: z.string().max(8 * 1024 * 1024).nullish().transform((v) => v ?? null),
});
type BenchmarkInput = z.input<typeof benchmarkInputSchema>;

const loadMeasurementSchema = z.object({
  ts: z.number().int().optional(),
  hardware: text(500),
  runtimeKind: text(50),
  model: text(500),
  contextSize: z.number().int().min(1),
  weightsBytes: z.number().int().min(0),
  kvBytes: z.number().int().min(0),
  measuredBytes: z.number().int().min(1),
  source: text(100),
});
type LoadMeasurement = z.input<typeof loadMeasurementSchema>;

interface BenchmarkOverviewRow {
  readonly runId: string | null;
  readonly ts: number;
  readonly hardware: string;
  readonly promptSet: string;
  readonly concurrency: number;
  readonly ttftMs: number | null;
  readonly promptTps: number | null;
  readonly genTps: number | null;
  readonly ttftP99Ms?: number;
  readonly tpotMs?: number;
  readonly e2elMs?: number;
  /** The CV of the mean generation speed (the per-request CV for runs stored before it was kept). */
  readonly cvPct?: number;
  readonly throughputTps?: number;
  readonly name: string;
  readonly tag: string;
  readonly runtimeKind: string;
  readonly endpoint: string;
  readonly runtimeName: string;
}

const auditInputSchema = z.object({
  operation: text(100),
  target: z.string().max(1000),
  outcome: z.enum(['ok', 'error']),
  error: optText(4000),
  ts: z.number().int().nonnegative().optional(),
});
type AuditInput = z.input<typeof auditInputSchema>;

const modelSortSchema = z.enum(['name', 'size', 'lastUsed']);
const modelQuerySchema = z.object({
  runtimeId: z.number().int().positive().optional(),
  family: z.string().max(100).optional(),
  /** Case-insensitive substring of the name. */
  search: z.string().max(200).optional(),
  sort: modelSortSchema.default('name'),
  descending: z.boolean().default(false),
  limit: z.number().int().positive().max(10_000).default(200),
  offset: z.number().int().nonnegative().default(0),
});
export type ModelQuery = z.input<typeof modelQuerySchema>;

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RegistryError(`Invalid ${what}: ${i.path.join('.') || 'value'}: ${i.message}`, 'validation');
  }
  return r.data;
}

function normalizeDigest(d: string | null): string | null {
  return d === null ? null : d.startsWith('sha256:') ? d : `sha256:${d}`;
}

interface UpsertModelResult {
  readonly id: number;
  readonly created: boolean;
  /** True when the digest was not seen before for this model (a new version). */
  readonly newVersion: boolean;
}

interface SyncResult {
  readonly runtimeId: number;
  readonly created: number;
  readonly updated: number;
  /** name:tag of known models whose digest changed. */
  readonly newVersions: readonly string[];
  /** The recorded last use of each listed model, in listing order. */
  readonly lastUsed: readonly (number | null)[];
  /** Entries left out because they failed validation, with the reason. */
  readonly skipped: readonly string[];
}

interface UsageDay {
  readonly day: string;
  readonly kind: string;
  readonly count: number;
  readonly outputTokens: number;
  readonly promptTokens: number;
  readonly durationMs: number;
  /** The mean time to first token of the day's streamed generations, when any was measured. */
  readonly ttftMs: number | null;
}

interface RegistryStats {
  readonly schemaVersion: number;
  readonly counts: Record<string, number>;
  readonly fileBytes: number;
  readonly encrypted: boolean;
  readonly backups: number;
  readonly oldestUsage: number | null;
  readonly newestUsage: number | null;
}

/** The registry's repositories in one place; each method is one unit of work. */
export class RegistryRepositories {
  constructor(
    readonly db: Registry,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- runtimes
  upsertRuntime(input: RuntimeInput): number {
    const r = parse(runtimeInputSchema, input, 'runtime');
    const ts = this.now();
    return this.db.transaction(() => {
      this.db.run(
        `INSERT INTO runtimes (kind, name, endpoint, container_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, endpoint) DO UPDATE SET name = excluded.name, container_id = excluded.container_id, updated_at = excluded.updated_at`,
        [r.kind, r.name, r.endpoint, r.containerId, ts, ts],
      );
      return this.db.get<{ id: number }>('SELECT id FROM runtimes WHERE kind = ? AND endpoint = ?', [r.kind, r.endpoint])!.id;
    });
  }

  listRuntimes(): RuntimeRow[] {
    return this.db.all('SELECT * FROM runtimes ORDER BY kind, name').map((row) => runtimeRowSchema.parse(row));
  }

  // ---- models and versions
  upsertModel(input: ModelInput): UpsertModelResult {
    const m = parse(modelInputSchema, input, 'model');
    const digest = normalizeDigest(m.digest);
    const ts = this.now();
    return this.db.transaction(() => {
      const existing = this.db.get<{ id: number }>('SELECT id FROM models WHERE runtime_id = ? AND name = ? AND tag = ?', [m.runtimeId, m.name, m.tag]);
      let id: number;
      if (existing) {
        id = existing.id;
        this.db.run(
          `UPDATE models SET family = ?, parameter_count = ?, quantization = ?, context_length = ?, size_bytes = ?, digest = ?, format = ?, source = ?, license = ?, updated_at = ? WHERE id = ?`,
          [m.family, m.parameterCount, m.quantization, m.contextLength, m.sizeBytes, digest, m.format, m.source, m.license, ts, id],
        );
      } else {
        if (!this.db.get('SELECT 1 AS x FROM runtimes WHERE id = ?', [m.runtimeId])) throw new RegistryError(`Invalid model: runtime ${m.runtimeId} does not exist.`, 'validation');
        id = this.db.insert(
          `INSERT INTO models (runtime_id, name, tag, family, parameter_count, quantization, context_length, size_bytes, digest, format, source, license, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [m.runtimeId, m.name, m.tag, m.family, m.parameterCount, m.quantization, m.contextLength, m.sizeBytes, digest, m.format, m.source, m.license, ts, ts],
        );
      }
      let newVersion = false;
      if (digest) {
        const changed = this.db.run('UPDATE model_versions SET last_seen = ? WHERE model_id = ? AND digest = ?', [ts, id, digest]);
        if (!changed) {
          this.db.run('INSERT INTO model_versions (model_id, digest, first_seen, last_seen) VALUES (?, ?, ?, ?)', [id, digest, ts, ts]);
          newVersion = true;
        }
      }
      return { id, created: !existing, newVersion };
    });
  }

  /**
   * Brings one runtime's models in line with a listing in one transaction, writing only what
   * changed (an unchanged listing writes nothing). A listing without a digest keeps the recorded
   * one; a new digest becomes a new version. Models missing from the listing stay, with their history.
   */
  syncListing(runtime: RuntimeInput, models: readonly Omit<ModelInput, 'runtimeId'>[]): SyncResult {
    const r = parse(runtimeInputSchema, runtime, 'runtime');
    return this.db.transaction(() => {
      const row = this.db.get<{ id: number; name: string; container_id: string | null }>('SELECT id, name, container_id FROM runtimes WHERE kind = ? AND endpoint = ?', [r.kind, r.endpoint]);
      const runtimeId = row && row.name === r.name && row.container_id === r.containerId ? row.id : this.upsertRuntime(runtime);
      const existing = new Map<string, ModelRow>();
      for (const m of this.db.all('SELECT * FROM models WHERE runtime_id = ?', [runtimeId])) {
        const parsed = modelRowSchema.parse(m);
        existing.set(`${parsed.name}\u0000${parsed.tag}`, parsed);
      }
      let created = 0;
      let updated = 0;
      const newVersions: string[] = [];
      const lastUsed: (number | null)[] = [];
      const skipped: string[] = [];
      for (const input of models) {
        const checked = modelInputSchema.safeParse({ ...input, runtimeId });
        if (!checked.success) {
          // One odd entry in a runtime's answer must not keep the others out of the registry.
          skipped.push(`${String(input.name).slice(0, 100)}: ${checked.error.issues[0]?.path.join('.')} ${checked.error.issues[0]?.message}`);
          lastUsed.push(null);
          continue;
        }
        const m = checked.data;
        const prev = existing.get(`${m.name}\u0000${m.tag}`);
        const digest = normalizeDigest(m.digest) ?? prev?.digest ?? null;
        const same =
          prev &&
          prev.family === m.family &&
          prev.parameter_count === m.parameterCount &&
          prev.quantization === m.quantization &&
          prev.context_length === m.contextLength &&
          prev.size_bytes === m.sizeBytes &&
          prev.digest === digest &&
          prev.format === m.format &&
          prev.source === m.source;
        if (same) {
          lastUsed.push(prev.last_used_at);
          continue;
        }
        const res = this.upsertModel({ ...input, runtimeId, digest });
        if (res.created) created++;
        else updated++;
        if (res.newVersion && prev) newVersions.push(`${m.name}:${m.tag}`);
        lastUsed.push(prev?.last_used_at ?? null);
      }
      return { runtimeId, created, updated, newVersions, lastUsed, skipped };
    });
  }

  /** The id of a model for usage events, creating a bare row when a runtime named a model not listed yet. */
  modelIdFor(runtime: RuntimeInput, name: string, tag = 'latest'): number {
    return this.db.transaction(() => {
      const r = parse(runtimeInputSchema, runtime, 'runtime');
      const row = this.db.get<{ id: number }>('SELECT id FROM runtimes WHERE kind = ? AND endpoint = ?', [r.kind, r.endpoint]);
      const runtimeId = row?.id ?? this.upsertRuntime(runtime);
      return this.findModel(runtimeId, name, tag)?.id ?? this.upsertModel({ runtimeId, name, tag }).id;
    });
  }

  getModel(id: number): ModelRow | undefined {
    const row = this.db.get('SELECT * FROM models WHERE id = ?', [id]);
    return row ? modelRowSchema.parse(row) : undefined;
  }

  findModel(runtimeId: number, name: string, tag = 'latest'): ModelRow | undefined {
    const row = this.db.get('SELECT * FROM models WHERE runtime_id = ? AND name = ? AND tag = ?', [runtimeId, name, tag]);
    return row ? modelRowSchema.parse(row) : undefined;
  }

  /** The Models view's query: one page, filtered and sorted, served by an index. */
  listModels(query: ModelQuery = {}): ModelRow[] {
    const q = parse(modelQuerySchema, query, 'model query');
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.runtimeId !== undefined) {
      where.push('runtime_id = ?');
      params.push(q.runtimeId);
    }
    if (q.family !== undefined) {
      where.push('family = ?');
      params.push(q.family);
    }
    if (q.search) {
      where.push("name LIKE ? ESCAPE '\\'");
      params.push(`%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    const dir = q.descending ? 'DESC' : 'ASC';
    const order = q.sort === 'name' ? `name ${dir}, tag ${dir}` : q.sort === 'size' ? `size_bytes ${dir}, id ${dir}` : `last_used_at ${dir}, id ${dir}`;
    const sql = `SELECT * FROM models ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ? OFFSET ?`;
    params.push(q.limit, q.offset);
    return this.db.all(sql, params).map((row) => modelRowSchema.parse(row));
  }

  deleteModel(id: number): boolean {
    return this.db.transaction(() => this.db.run('DELETE FROM models WHERE id = ?', [id]) > 0);
  }

  versions(modelId: number): { digest: string; firstSeen: number; lastSeen: number; pinned: boolean }[] {
    return this.db
      .all<{ digest: string; first_seen: number; last_seen: number; pinned: number }>('SELECT digest, first_seen, last_seen, pinned FROM model_versions WHERE model_id = ? ORDER BY last_seen DESC', [modelId])
      .map((r) => ({ digest: r.digest, firstSeen: r.first_seen, lastSeen: r.last_seen, pinned: !!r.pinned }));
  }

  setPinned(modelId: number, digest: string, pinned: boolean): boolean {
    const d = normalizeDigest(parse(digestSchema, digest, 'digest'));
    return this.db.transaction(() => this.db.run('UPDATE model_versions SET pinned = ? WHERE model_id = ? AND digest = ?', [pinned ? 1 : 0, modelId, d]) > 0);
  }

  // ---- usage
  recordUsage(input: UsageInput): number {
    const u = parse(usageInputSchema, input, 'usage event');
    const ts = u.ts ?? this.now();
    return this.db.transaction(() => {
      const id = this.db.insert('INSERT INTO usage_events (model_id, ts, kind, duration_ms, prompt_tokens, output_tokens, ttft_ms, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        u.modelId,
        ts,
        u.kind,
        u.durationMs,
        u.promptTokens,
        u.outputTokens,
        u.ttftMs,
        u.client,
      ]);
      this.db.run('UPDATE models SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?', [ts, u.modelId]);
      return id;
    });
  }

  /**
   * Usage of one model per day and kind over the last `days` days (the details view's history):
   * the raw events of recent days and the daily roll-ups of older ones, summed per day.
   */
  usageByDay(modelId: number, days = 30, now = this.now()): UsageDay[] {
    const since = now - days * 86_400_000;
    return this.db
      .all<{ day: string; kind: string; n: number; tokens: number | null; prompt: number | null; duration: number | null; ttft_sum: number | null; ttft_n: number }>(
        `SELECT day, kind, sum(n) AS n, sum(tokens) AS tokens, sum(prompt) AS prompt, sum(duration) AS duration, sum(ttft_sum) AS ttft_sum, sum(ttft_n) AS ttft_n FROM (
           SELECT date(ts / 1000, 'unixepoch') AS day, kind, count(*) AS n, sum(output_tokens) AS tokens, sum(prompt_tokens) AS prompt, sum(duration_ms) AS duration, sum(ttft_ms) AS ttft_sum, count(ttft_ms) AS ttft_n
           FROM usage_events WHERE model_id = ? AND date(ts / 1000, 'unixepoch') >= date(? / 1000, 'unixepoch') AND ts >= ?
           GROUP BY day, kind
           UNION ALL
           SELECT day, kind, events, output_tokens, prompt_tokens, duration_ms, ttft_ms_sum, ttft_n FROM usage_daily WHERE model_id = ? AND day >= date(? / 1000, 'unixepoch')
         ) GROUP BY day, kind ORDER BY day, kind`,
        [modelId, since, since, modelId, since],
      )
      .map((r) => ({ day: r.day, kind: r.kind, count: r.n, outputTokens: r.tokens ?? 0, promptTokens: r.prompt ?? 0, durationMs: r.duration ?? 0, ttftMs: r.ttft_n ? Math.round((r.ttft_sum ?? 0) / r.ttft_n) : null }));
  }

  /**
   * Models whose last use (of any kind but delete) is older than `days` days, or that were never
   * used and were first seen before then: what could be removed to free disk, largest first.
   */
  unusedModels(days: number, now = this.now(), limit = 200): { id: number; runtimeId: number; name: string; tag: string; sizeBytes: number | null; lastUsedAt: number | null; createdAt: number }[] {
    const before = now - days * 86_400_000;
    return this.db
      .all<{ id: number; runtime_id: number; name: string; tag: string; size_bytes: number | null; last_used_at: number | null; created_at: number }>(
        `SELECT id, runtime_id, name, tag, size_bytes, last_used_at, created_at FROM models
         WHERE coalesce(last_used_at, created_at) < ? ORDER BY coalesce(size_bytes, 0) DESC, name LIMIT ?`,
        [before, limit],
      )
      .map((r) => ({ id: r.id, runtimeId: r.runtime_id, name: r.name, tag: r.tag, sizeBytes: r.size_bytes, lastUsedAt: r.last_used_at, createdAt: r.created_at }));
  }

  /** When each model was asked to generate since `since` (what preloading learns regular times from), oldest first. */
  generationTimes(since: number, limit = 100_000): { ts: number; name: string; tag: string; runtimeKind: string; endpoint: string }[] {
    return this.db
      .all<{ ts: number; name: string; tag: string; kind: string; endpoint: string }>(
        `SELECT e.ts, m.name, m.tag, r.kind, r.endpoint FROM usage_events e JOIN models m ON m.id = e.model_id JOIN runtimes r ON r.id = m.runtime_id
         WHERE e.ts >= ? AND e.kind = 'generate' ORDER BY e.ts LIMIT ?`,
        [since, limit],
      )
      .map((r) => ({ ts: r.ts, name: r.name, tag: r.tag, runtimeKind: r.kind, endpoint: r.endpoint }));
  }

  /** Records what a runtime used with one model loaded (the fit estimate calibrates on these). */
  recordLoadMeasurement(m: LoadMeasurement): number {
    const v = parse(loadMeasurementSchema, m, 'load measurement');
    return this.db.transaction(() =>
      this.db.insert(
        'INSERT INTO load_measurements (ts, hardware, runtime_kind, model, context_size, weights_bytes, kv_bytes, measured_bytes, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [v.ts ?? this.now(), v.hardware, v.runtimeKind, v.model, v.contextSize, v.weightsBytes, v.kvBytes, v.measuredBytes, v.source],
      ),
    );
  }

  /** The newest load measurements on one machine and runtime kind. */
  loadMeasurements(hardware: string, runtimeKind: string, limit = 200): LoadMeasurement[] {
    return this.db
      .all<{ ts: number; hardware: string; runtime_kind: string; model: string; context_size: number; weights_bytes: number; kv_bytes: number; measured_bytes: number; source: string }>(
        'SELECT * FROM load_measurements WHERE hardware = ? AND runtime_kind = ? ORDER BY ts DESC, id DESC LIMIT ?',
        [hardware, runtimeKind, limit],
      )
      .map((r) => ({ ts: r.ts, hardware: r.hardware, runtimeKind: r.runtime_kind, model: r.model, contextSize: r.context_size, weightsBytes: r.weights_bytes, kvBytes: r.kv_bytes, measuredBytes: r.measured_bytes, source: r.source }));
  }

  // ---- benchmarks, tags, notes
  recordBenchmark(input: BenchmarkInput): number {
    const b = parse(benchmarkInputSchema, input, 'benchmark result');
    return this.db.transaction(() =>
      this.db.insert(
        'INSERT INTO benchmark_results (model_id, runtime_id, hardware, prompt_set, ttft_ms, prompt_tps, gen_tps, memory_bytes, ts, concurrency, run_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [b.modelId, b.runtimeId, b.hardware, b.promptSet, b.ttftMs, b.promptTps, b.genTps, b.memoryBytes, b.ts ?? this.now(), b.concurrency, b.runId, b.details],
      ),
    );
  }

  benchmarks(modelId: number, limit = 50): Record<string, unknown>[] {
    return this.db.all('SELECT * FROM benchmark_results WHERE model_id = ? ORDER BY ts DESC LIMIT ?', [modelId, limit]);
  }

  /**
   * The newest benchmark rows of every model, with the model and its runtime (the benchmark view).
   * The figures beyond the medians are read out of `details` by SQLite (json_extract), so the raw
   * samples stored there are never parsed here; a details text that is not JSON gives none.
   */
  benchmarkOverview(limit = 5000): BenchmarkOverviewRow[] {
    const fig = (p: string) => `CASE WHEN json_valid(b.details) THEN json_extract(b.details, '${p}') END`;
    return this.db
      .all<{ run_id: string | null; ts: number; hardware: string; prompt_set: string; concurrency: number; ttft_ms: number | null; prompt_tps: number | null; gen_tps: number | null; ttft_p99: number | null; tpot_p50: number | null; e2el_p50: number | null; cv: number | null; throughput: number | null; name: string; tag: string; kind: string; endpoint: string; runtime_name: string }>(
        `SELECT b.run_id, b.ts, b.hardware, b.prompt_set, b.concurrency, b.ttft_ms, b.prompt_tps, b.gen_tps,
           ${fig('$.ttftMs.p99')} AS ttft_p99, ${fig('$.tpotMs.p50')} AS tpot_p50, ${fig('$.e2elMs.p50')} AS e2el_p50,
           coalesce(${fig('$.tgMeanCvPct')}, ${fig('$.tgTps.cvPct')}) AS cv, ${fig('$.throughputTps')} AS throughput,
           m.name, m.tag, r.kind, r.endpoint, r.name AS runtime_name
         FROM benchmark_results b JOIN models m ON m.id = b.model_id JOIN runtimes r ON r.id = m.runtime_id ORDER BY b.ts DESC, b.id DESC LIMIT ?`,
        [limit],
      )
      .map((r) => {
        const n = (v: number | null) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
        return {
          runId: r.run_id, ts: r.ts, hardware: r.hardware, promptSet: r.prompt_set, concurrency: r.concurrency, ttftMs: r.ttft_ms, promptTps: r.prompt_tps, genTps: r.gen_tps,
          ttftP99Ms: n(r.ttft_p99), tpotMs: n(r.tpot_p50), e2elMs: n(r.e2el_p50), cvPct: n(r.cv), throughputTps: n(r.throughput),
          name: r.name, tag: r.tag, runtimeKind: r.kind, endpoint: r.endpoint, runtimeName: r.runtime_name,
        };
      });
  }

  /** Generation speeds at concurrency 1 on one machine and runtime kind, with each model's size: what a speed prediction fits. */
  benchmarkSpeeds(hardware: string, runtimeKind: string, limit = 500): { genTps: number; sizeBytes: number }[] {
    return this.db.all<{ gen_tps: number; size_bytes: number }>(
      `SELECT b.gen_tps, m.size_bytes FROM benchmark_results b JOIN models m ON m.id = b.model_id JOIN runtimes r ON r.id = m.runtime_id
       WHERE b.hardware = ? AND b.concurrency = 1 AND r.kind = ? AND b.gen_tps IS NOT NULL AND m.size_bytes IS NOT NULL ORDER BY b.ts DESC LIMIT ?`,
      [hardware, runtimeKind, limit],
    ).map((r) => ({ genTps: r.gen_tps, sizeBytes: r.size_bytes }));
  }

  /** Generation speeds of earlier runs of a model at one concurrency on one machine, newest first (the regression baseline). */
  benchmarkHistory(modelId: number, hardware: string, promptSet: string, concurrency: number, limit = 20): number[] {
    return this.db
      .all<{ gen_tps: number | null }>('SELECT gen_tps FROM benchmark_results WHERE model_id = ? AND hardware = ? AND prompt_set = ? AND concurrency = ? ORDER BY ts DESC LIMIT ?', [modelId, hardware, promptSet, concurrency, limit])
      .map((r) => r.gen_tps)
      .filter((v): v is number => v !== null);
  }

  setTags(modelId: number, tags: readonly string[]): void {
    const clean = [...new Set(tags.map((t) => parse(text(100), t, 'tag')))];
    this.db.transaction(() => {
      this.db.run('DELETE FROM model_tags WHERE model_id = ?', [modelId]);
      for (const t of clean) this.db.run('INSERT INTO model_tags (model_id, tag) VALUES (?, ?)', [modelId, t]);
    });
  }

  tags(modelId: number): string[] {
    return this.db.all<{ tag: string }>('SELECT tag FROM model_tags WHERE model_id = ? ORDER BY tag', [modelId]).map((r) => r.tag);
  }

  modelsWithTag(tag: string): number[] {
    return this.db.all<{ model_id: number }>('SELECT model_id FROM model_tags WHERE tag = ? ORDER BY model_id', [tag]).map((r) => r.model_id);
  }

  setNote(modelId: number, note: string): void {
    const t = parse(z.string().max(100_000), note, 'note');
    this.db.transaction(() => {
      if (!t.trim()) this.db.run('DELETE FROM model_notes WHERE model_id = ?', [modelId]);
      else this.db.run('INSERT INTO model_notes (model_id, text, updated_at) VALUES (?, ?, ?) ON CONFLICT (model_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at', [modelId, t, this.now()]);
    });
  }

  note(modelId: number): string | undefined {
    return this.db.get<{ text: string }>('SELECT text FROM model_notes WHERE model_id = ?', [modelId])?.text;
  }

  // ---- audit log and retention
  audit(input: AuditInput): number {
    const a = parse(auditInputSchema, input, 'audit entry');
    return this.db.transaction(() =>
      this.db.insert('INSERT INTO audit_log (ts, operation, target, outcome, error) VALUES (?, ?, ?, ?, ?)', [a.ts ?? this.now(), a.operation, a.target, a.outcome, a.error]),
    );
  }

  recentAudit(limit = 100): { ts: number; operation: string; target: string; outcome: string; error: string | null }[] {
    return this.db.all('SELECT ts, operation, target, outcome, error FROM audit_log ORDER BY ts DESC, id DESC LIMIT ?', [limit]);
  }

  retention(): { usageDays: number; auditDays: number; usageRawDays: number } {
    const get = (k: string, d: number) => Number(this.db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [k])?.value ?? d);
    return { usageDays: get('retention.usageDays', 365), auditDays: get('retention.auditDays', 365), usageRawDays: get('retention.usageRawDays', 30) };
  }

  setRetention(r: { usageDays?: number; auditDays?: number; usageRawDays?: number }): void {
    const days = z.number().int().min(1).max(36_500);
    this.db.transaction(() => {
      for (const [key, value] of [['usageDays', r.usageDays], ['auditDays', r.auditDays], ['usageRawDays', r.usageRawDays]] as const) {
        if (value !== undefined) this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [`retention.${key}`, String(parse(days, value, 'retention'))]);
      }
    });
  }

  /**
   * Retention, in one transaction: raw usage events older than usageRawDays are summed into
   * usage_daily (one row per model, UTC day and kind) and deleted; daily roll-ups older than
   * usageDays, audit entries and finished webhook deliveries older than auditDays are deleted.
   * Roll-ups are whole days: a day is rolled up only once all of it is older than usageRawDays.
   */
  prune(now = this.now()): { usage: number; rolledUp: number; audit: number; deliveries: number } {
    const r = this.retention();
    const dayMs = 86_400_000;
    const rawCutoff = Math.floor((now - Math.min(r.usageRawDays, r.usageDays) * dayMs) / dayMs) * dayMs;
    const keepCutoff = now - r.usageDays * dayMs;
    return this.db.transaction(() => {
      const rolledUp = this.db.run(
        `INSERT INTO usage_daily (model_id, day, kind, events, duration_ms, prompt_tokens, output_tokens, ttft_ms_sum, ttft_n)
         SELECT model_id, date(ts / 1000, 'unixepoch'), kind, count(*), coalesce(sum(duration_ms), 0), coalesce(sum(prompt_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(ttft_ms), 0), count(ttft_ms)
         FROM usage_events WHERE ts < ?1 AND ts >= ?2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         ON CONFLICT (model_id, day, kind) DO UPDATE SET events = events + excluded.events, duration_ms = duration_ms + excluded.duration_ms,
           prompt_tokens = prompt_tokens + excluded.prompt_tokens, output_tokens = output_tokens + excluded.output_tokens,
           ttft_ms_sum = ttft_ms_sum + excluded.ttft_ms_sum, ttft_n = ttft_n + excluded.ttft_n`,
        [rawCutoff, keepCutoff],
      );
      const usage = this.db.run('DELETE FROM usage_events WHERE ts < ?', [rawCutoff]);
      this.db.run("DELETE FROM usage_daily WHERE day < date(? / 1000, 'unixepoch')", [keepCutoff]);
      return {
        usage,
        rolledUp,
        audit: this.db.run('DELETE FROM audit_log WHERE ts < ?', [now - r.auditDays * dayMs]),
        // Only finished ones have done_at: queued ones stay whatever their age (they are still to be sent).
        deliveries: this.db.run('DELETE FROM webhook_deliveries WHERE done_at < ?', [now - r.auditDays * dayMs]),
      };
    });
  }

  stats(fileBytes: number): RegistryStats {
    // Two subqueries, one index lookup each (min and max in one SELECT would scan the whole index).
    const range = this.db.get<{ lo: number | null; hi: number | null }>('SELECT (SELECT min(ts) FROM usage_events) AS lo, (SELECT max(ts) FROM usage_events) AS hi')!;
    const counts = this.db.counts();
    return {
      schemaVersion: this.db.schemaVersion,
      counts,
      fileBytes,
      encrypted: this.db.encrypted,
      backups: this.db.listBackups().length,
      oldestUsage: range.lo,
      newestUsage: range.hi,
    };
  }
}
