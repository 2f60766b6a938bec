// Export of the whole registry to JSON, and import on another machine. Rows travel with natural
// keys (runtime kind + endpoint, model runtime + name + tag) so ids never clash; an import is
// validated completely before one row is written, and runs in one transaction.
import { z } from 'zod';
import { RegistryError } from './fileStore';
import type { Registry } from './registry';
import { runtimeKindSchema, usageKindSchema } from './repositories';

export const EXPORT_FORMAT = 'llm-local-stack-registry';

const runtimeKey = z.object({ kind: runtimeKindSchema, endpoint: z.string().min(1).max(2000) });
const modelKey = z.object({ runtime: runtimeKey, name: z.string().min(1).max(300), tag: z.string().min(1).max(200) });
const nint = z.number().int().nullable();
const nnum = z.number().nullable();
const nstr = z.string().nullable();

const registryExportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(1),
  exportedAt: z.number(),
  schemaVersion: z.number().int(),
  runtimes: z.array(z.object({ kind: runtimeKindSchema, name: z.string().min(1).max(200), endpoint: z.string().min(1).max(2000), containerId: nstr, createdAt: z.number(), updatedAt: z.number() })),
  models: z.array(
    z.object({
      key: modelKey,
      family: nstr,
      parameterCount: nint,
      quantization: nstr,
      contextLength: nint,
      sizeBytes: nint,
      digest: nstr,
      format: nstr,
      source: nstr,
      license: nstr,
      createdAt: z.number(),
      updatedAt: z.number(),
      lastUsedAt: nint,
      tags: z.array(z.string().min(1).max(100)),
      note: nstr,
    }),
  ),
  versions: z.array(z.object({ model: modelKey, digest: z.string().min(1), firstSeen: z.number(), lastSeen: z.number(), pinned: z.boolean() })),
  usage: z.array(z.object({ model: modelKey, ts: z.number().int(), kind: usageKindSchema, durationMs: nint, promptTokens: nint, outputTokens: nint })),
  /** Older usage, rolled up per model, day and kind (absent from exports made before schema 5). */
  usageDaily: z
    .array(z.object({ model: modelKey, day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), kind: usageKindSchema, events: z.number().int().min(0), durationMs: z.number().int(), promptTokens: z.number().int(), outputTokens: z.number().int(), ttftMsSum: z.number().int(), ttftN: z.number().int().min(0) }))
    .default([]),
  benchmarks: z.array(
    z.object({ model: modelKey, runtime: runtimeKey.nullable(), hardware: z.string(), promptSet: z.string(), ttftMs: nnum, promptTps: nnum, genTps: nnum, memoryBytes: nint, ts: z.number().int() }),
  ),
  audit: z.array(z.object({ ts: z.number().int(), operation: z.string(), target: z.string(), outcome: z.enum(['ok', 'error']), error: nstr })),
});
export type RegistryExport = z.infer<typeof registryExportSchema>;

type Row = Record<string, never>;

export function exportRegistry(db: Registry, now = Date.now()): RegistryExport {
  const runtimes = db.all<Row>('SELECT * FROM runtimes ORDER BY id');
  const rtKey = new Map<number, { kind: z.infer<typeof runtimeKindSchema>; endpoint: string }>();
  for (const r of runtimes) rtKey.set(r.id, { kind: r.kind, endpoint: r.endpoint });
  const models = db.all<Row>('SELECT * FROM models ORDER BY id');
  const mKey = new Map<number, z.infer<typeof modelKey>>();
  for (const m of models) mKey.set(m.id, { runtime: rtKey.get(m.runtime_id)!, name: m.name, tag: m.tag });
  const tags = new Map<number, string[]>();
  for (const t of db.all<{ model_id: number; tag: string }>('SELECT model_id, tag FROM model_tags ORDER BY tag')) tags.set(t.model_id, [...(tags.get(t.model_id) ?? []), t.tag]);
  const notes = new Map<number, string>(db.all<{ model_id: number; text: string }>('SELECT model_id, text FROM model_notes').map((n) => [n.model_id, n.text]));
  return {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: now,
    schemaVersion: db.schemaVersion,
    runtimes: runtimes.map((r) => ({ kind: r.kind, name: r.name, endpoint: r.endpoint, containerId: r.container_id, createdAt: r.created_at, updatedAt: r.updated_at })),
    models: models.map((m) => ({
      key: mKey.get(m.id)!,
      family: m.family,
      parameterCount: m.parameter_count,
      quantization: m.quantization,
      contextLength: m.context_length,
      sizeBytes: m.size_bytes,
      digest: m.digest,
      format: m.format,
      source: m.source,
      license: m.license,
      createdAt: m.created_at,
      updatedAt: m.updated_at,
      lastUsedAt: m.last_used_at,
      tags: tags.get(m.id) ?? [],
      note: notes.get(m.id) ?? null,
    })),
    versions: db
      .all<Row>('SELECT * FROM model_versions ORDER BY id')
      .map((v) => ({ model: mKey.get(v.model_id)!, digest: v.digest, firstSeen: v.first_seen, lastSeen: v.last_seen, pinned: !!v.pinned })),
    usage: db
      .all<Row>('SELECT * FROM usage_events ORDER BY id')
      .map((u) => ({ model: mKey.get(u.model_id)!, ts: u.ts, kind: u.kind, durationMs: u.duration_ms, promptTokens: u.prompt_tokens, outputTokens: u.output_tokens })),
    usageDaily: db
      .all<Row>('SELECT * FROM usage_daily ORDER BY model_id, day, kind')
      .map((u) => ({ model: mKey.get(u.model_id)!, day: u.day, kind: u.kind, events: u.events, durationMs: u.duration_ms, promptTokens: u.prompt_tokens, outputTokens: u.output_tokens, ttftMsSum: u.ttft_ms_sum, ttftN: u.ttft_n })),
    benchmarks: db.all<Row>('SELECT * FROM benchmark_results ORDER BY id').map((b) => ({
      model: mKey.get(b.model_id)!,
      runtime: b.runtime_id === null ? null : (rtKey.get(b.runtime_id) ?? null),
      hardware: b.hardware,
      promptSet: b.prompt_set,
      ttftMs: b.ttft_ms,
      promptTps: b.prompt_tps,
      genTps: b.gen_tps,
      memoryBytes: b.memory_bytes,
      ts: b.ts,
    })),
    audit: db.all<Row>('SELECT * FROM audit_log ORDER BY id').map((a) => ({ ts: a.ts, operation: a.operation, target: a.target, outcome: a.outcome, error: a.error })),
  };
}

interface ImportReport {
  readonly runtimes: number;
  readonly models: number;
  readonly versions: number;
  readonly usage: number;
  readonly benchmarks: number;
  readonly audit: number;
}

/** Parses an export file's text; throws a RegistryError naming the first problem. */
export function parseExport(textContent: string, where: string): RegistryExport {
  let json: unknown;
  try {
    json = JSON.parse(textContent);
  } catch (e) {
    throw new RegistryError(`${where} is not JSON: ${(e as Error).message}. Nothing was imported.`, 'import');
  }
  const r = registryExportSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RegistryError(`${where} is not a registry export: at ${i.path.join('.') || 'top level'}: ${i.message}. Nothing was imported.`, 'import');
  }
  return r.data;
}

/** Merges an export into the registry: existing rows (by natural key) are kept, new ones added. */
export function importRegistry(db: Registry, data: RegistryExport): ImportReport {
  const counts = { runtimes: 0, models: 0, versions: 0, usage: 0, benchmarks: 0, audit: 0 };
  db.transaction(() => {
    const rtId = (k: { kind: string; endpoint: string }) => db.get<{ id: number }>('SELECT id FROM runtimes WHERE kind = ? AND endpoint = ?', [k.kind, k.endpoint])?.id;
    for (const r of data.runtimes) {
      counts.runtimes += db.run('INSERT OR IGNORE INTO runtimes (kind, name, endpoint, container_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [r.kind, r.name, r.endpoint, r.containerId, r.createdAt, r.updatedAt]);
    }
    const modelId = (k: z.infer<typeof modelKey>) => {
      const runtimeId = rtId(k.runtime);
      if (runtimeId === undefined) throw new RegistryError(`Import refers to runtime ${k.runtime.kind} ${k.runtime.endpoint}, which the file does not list. Nothing was imported.`, 'import');
      return db.get<{ id: number }>('SELECT id FROM models WHERE runtime_id = ? AND name = ? AND tag = ?', [runtimeId, k.name, k.tag])?.id;
    };
    for (const m of data.models) {
      const runtimeId = rtId(m.key.runtime);
      if (runtimeId === undefined) throw new RegistryError(`Import: model ${m.key.name} refers to a runtime the file does not list. Nothing was imported.`, 'import');
      const added = db.run(
        `INSERT OR IGNORE INTO models (runtime_id, name, tag, family, parameter_count, quantization, context_length, size_bytes, digest, format, source, license, created_at, updated_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [runtimeId, m.key.name, m.key.tag, m.family, m.parameterCount, m.quantization, m.contextLength, m.sizeBytes, m.digest, m.format, m.source, m.license, m.createdAt, m.updatedAt, m.lastUsedAt],
      );
      counts.models += added;
      const id = modelId(m.key)!;
      for (const t of m.tags) db.run('INSERT OR IGNORE INTO model_tags (model_id, tag) VALUES (?, ?)', [id, t]);
      if (m.note !== null) db.run('INSERT OR IGNORE INTO model_notes (model_id, text, updated_at) VALUES (?, ?, ?)', [id, m.note, m.updatedAt]);
    }
    const requireModel = (k: z.infer<typeof modelKey>) => {
      const id = modelId(k);
      if (id === undefined) throw new RegistryError(`Import refers to model ${k.name}:${k.tag}, which the file does not list. Nothing was imported.`, 'import');
      return id;
    };
    for (const v of data.versions) {
      counts.versions += db.run('INSERT OR IGNORE INTO model_versions (model_id, digest, first_seen, last_seen, pinned) VALUES (?, ?, ?, ?, ?)', [requireModel(v.model), v.digest, v.firstSeen, v.lastSeen, v.pinned ? 1 : 0]);
    }
    for (const u of data.usage) {
      counts.usage += db.run(
        `INSERT INTO usage_events (model_id, ts, kind, duration_ms, prompt_tokens, output_tokens)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM usage_events WHERE model_id = ?1 AND ts = ?2 AND kind = ?3)`,
        [requireModel(u.model), u.ts, u.kind, u.durationMs, u.promptTokens, u.outputTokens],
      );
    }
    for (const u of data.usageDaily) {
      // The same roll-up imported twice counts once: an existing row is left as it is.
      counts.usage += db.run(
        'INSERT OR IGNORE INTO usage_daily (model_id, day, kind, events, duration_ms, prompt_tokens, output_tokens, ttft_ms_sum, ttft_n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [requireModel(u.model), u.day, u.kind, u.events, u.durationMs, u.promptTokens, u.outputTokens, u.ttftMsSum, u.ttftN],
      );
    }
    for (const b of data.benchmarks) {
      const mid = requireModel(b.model);
      counts.benchmarks += db.run(
        `INSERT INTO benchmark_results (model_id, runtime_id, hardware, prompt_set, ttft_ms, prompt_tps, gen_tps, memory_bytes, ts)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE NOT EXISTS (SELECT 1 FROM benchmark_results WHERE model_id = ?1 AND ts = ?9 AND prompt_set = ?4)`,
        [mid, b.runtime ? (rtId(b.runtime) ?? null) : null, b.hardware, b.promptSet, b.ttftMs, b.promptTps, b.genTps, b.memoryBytes, b.ts],
      );
    }
    for (const a of data.audit) {
      counts.audit += db.run(
        `INSERT INTO audit_log (ts, operation, target, outcome, error) SELECT ?1, ?2, ?3, ?4, ?5
         WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE ts = ?1 AND operation = ?2 AND target = ?3)`,
        [a.ts, a.operation, a.target, a.outcome, a.error],
      );
    }
  });
  return counts;
}
