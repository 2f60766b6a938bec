// Child process of the crash test: appends numbered rows to a registry, one transaction and flush (a journal append, or now and then a compaction) each, printing "committed <n>" after each flush, until killed.
// Plain SQL rather than the repositories: loading zod would add ~80 ms to each of the 200+ starts.
import { Registry } from '../../../../src/core/registry/registry';

async function main(): Promise<void> {
  const file = process.argv[2];
  const key = process.env.CRASH_WRITER_KEY ? Buffer.from(process.env.CRASH_WRITER_KEY, 'hex') : undefined;
  // Only explicit flushes write: each committed line means "on disk". A small compactAfterBytes makes
  // every few saves a full snapshot + new journal instead of an append, so kills land in both.
  const compactAfterBytes = process.env.CRASH_WRITER_COMPACT_AFTER ? Number(process.env.CRASH_WRITER_COMPACT_AFTER) : undefined;
  const registry = await Registry.open({ file, key, persistDelayMs: 3_600_000, compactAfterBytes });
  if (registry.recovery) throw new Error(`the registry needed recovery: ${registry.recovery.reason}`);
  const modelId = registry.transaction(() => {
    registry.run("INSERT OR IGNORE INTO runtimes (kind, name, endpoint, created_at, updated_at) VALUES ('other', 'crash', 'crash://writer', 0, 0)");
    const runtimeId = registry.get<{ id: number }>("SELECT id FROM runtimes WHERE kind = 'other' AND endpoint = 'crash://writer'")!.id;
    registry.run("INSERT OR IGNORE INTO models (runtime_id, name, created_at, updated_at) VALUES (?, 'crash-model', 0, 0)", [runtimeId]);
    return registry.get<{ id: number }>("SELECT id FROM models WHERE runtime_id = ? AND name = 'crash-model'", [runtimeId])!.id;
  });
  let seq = Number(registry.get<{ n: number | null }>("SELECT max(ts) AS n FROM audit_log WHERE operation = 'crash-seq'")?.n ?? 0);
  process.stdout.write(`ready ${seq}\n`);
  for (;;) {
    seq++;
    const n = seq;
    registry.transaction(() => {
      registry.run("INSERT INTO audit_log (ts, operation, target, outcome) VALUES (?, 'crash-seq', ?, 'ok')", [n, String(n)]);
      registry.run("INSERT INTO usage_events (model_id, ts, kind, output_tokens) VALUES (?, ?, 'generate', ?)", [modelId, n, n]);
      registry.run('UPDATE models SET last_used_at = ? WHERE id = ?', [n, modelId]);
    });
    await registry.flush();
    // Pipes are synchronous on Linux: once this returns the parent will read the line, kill or not.
    process.stdout.write(`committed ${n}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`crashWriter failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(2);
});
