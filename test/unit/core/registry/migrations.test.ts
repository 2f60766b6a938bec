// Tests the registry's forward-only migrations (every older schema to the newest) and that close + reopen (snapshot + journal replay) keeps every repository result.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseJournal, snapshotHeader } from '../../../../src/core/registry/journal';
import { LATEST_VERSION, migrations } from '../../../../src/core/registry/migrations';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { loadSqlJs } from '../../../../src/core/registry/sqljs';
import { assertRejectsRegistryError, Clock, DAY, digestOf, journalOf, sandbox, scalar, sha256, tableNames } from './support';

/** Writes a registry file at schema `version` by applying only the first migrations by hand, with one runtime, model and usage event. */
async function writeOldRegistry(file: string, version: number, extraSql = ''): Promise<void> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  for (const m of migrations.filter((x) => x.version <= version)) db.run(m.sql);
  db.run(`PRAGMA user_version = ${version}`);
  db.run("INSERT INTO runtimes (id, kind, name, endpoint, created_at, updated_at) VALUES (1, 'ollama', 'Old Ollama', 'http://old:11434', 1000, 1000)");
  db.run("INSERT INTO models (id, runtime_id, name, tag, family, size_bytes, digest, created_at, updated_at) VALUES (7, 1, 'legacy-model', 'q4', 'llama', 123, ?, 1000, 1000)", [digestOf(9)]);
  db.run('INSERT INTO model_versions (model_id, digest, first_seen, last_seen) VALUES (7, ?, 1000, 1000)', [digestOf(9)]);
  db.run("INSERT INTO usage_events (model_id, ts, kind, output_tokens) VALUES (7, 2000, 'generate', 42)");
  if (extraSql) db.run(extraSql);
  fs.writeFileSync(file, db.export());
  db.close();
}

describe('registry migrations (unit)', () => {
  const box = sandbox();

  it('has consecutive versions starting at 1, and LATEST_VERSION is the last', () => {
    assert.deepEqual(
      migrations.map((m) => m.version),
      migrations.map((_, i) => i + 1),
    );
    assert.equal(LATEST_VERSION, migrations.length);
  });

  it('version 0 (no file yet): creates the newest schema, saves it, takes no backup', async () => {
    const file = box.file();
    const r = await box.registry({ file });
    assert.equal(r.schemaVersion, LATEST_VERSION);
    assert.deepEqual(r.migrated, [0, LATEST_VERSION]);
    assert.equal(r.recovery, undefined);
    assert.deepEqual(r.listBackups(), []);
    assert.ok(fs.existsSync(file), 'the migrated registry is saved at once');
    const again = await box.registry({ file });
    assert.equal(again.schemaVersion, LATEST_VERSION);
    assert.equal(again.migrated, undefined, 'a file at the newest schema is not migrated again');
  });

  it('version 0 (an empty SQLite database): migrates in place without recovery', async () => {
    const file = box.file();
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    fs.writeFileSync(file, db.export());
    db.close();
    const r = await box.registry({ file });
    assert.equal(r.recovery, undefined);
    assert.deepEqual(r.migrated, [0, LATEST_VERSION]);
    assert.equal(r.schemaVersion, LATEST_VERSION);
    assert.ok(tableNames(r).includes('models'));
  });

  for (let from = 1; from < LATEST_VERSION; from++) {
    it(`version ${from}: migrates to ${LATEST_VERSION}, keeps the data and backs up the old file first`, async () => {
      const file = box.file();
      await writeOldRegistry(file, from);
      const before = fs.readFileSync(file);
      const clock = new Clock();
      const r = await box.registry({ file, now: clock.now });
      assert.equal(r.schemaVersion, LATEST_VERSION);
      assert.deepEqual(r.migrated, [from, LATEST_VERSION]);
      assert.equal(r.recovery, undefined);

      const repos = new RegistryRepositories(r, clock.now);
      const m = repos.getModel(7);
      assert.ok(m, 'the model written at the old schema survives');
      assert.equal(m.name, 'legacy-model');
      assert.equal(m.tag, 'q4');
      assert.equal(m.size_bytes, 123);
      assert.deepEqual(
        repos.versions(7).map((v) => v.digest),
        [digestOf(9)],
      );
      assert.equal(scalar(r, 'SELECT sum(output_tokens) FROM usage_events WHERE model_id = 7'), 42);
      assert.deepEqual(repos.listRuntimes().map((x) => x.endpoint), ['http://old:11434']);
      // Tables of the later migrations exist and work.
      repos.setTags(7, ['migrated']);
      repos.recordBenchmark({ modelId: 7, hardware: 'cpu', promptSet: 'p' });
      assert.deepEqual(repos.tags(7), ['migrated']);
      assert.deepEqual(repos.retention(), { usageDays: 365, auditDays: 365, usageRawDays: 30 });

      const backups = r.listBackups();
      assert.equal(backups.length, 1);
      const b = backups[0];
      assert.match(path.basename(b.file), new RegExp(`^registry-.*-before-migration-v${from}-to-v${LATEST_VERSION}\\.sqlite$`));
      assert.equal(b.reason, `before-migration-v${from}-to-v${LATEST_VERSION}`);
      assert.equal(b.schemaVersion, from);
      assert.equal(b.counts.runtimes, 1);
      assert.equal(b.counts.models, 1);
      assert.equal(b.counts.usage_events, 1);
      assert.ok(fs.existsSync(`${b.file}.json`));
      // The backup holds the old schema, byte for byte what SQLite would write of it.
      const SQL = await loadSqlJs();
      const old = new SQL.Database(fs.readFileSync(b.file));
      assert.equal(old.exec('PRAGMA user_version')[0].values[0][0], from);
      old.close();
      assert.notDeepEqual(fs.readFileSync(file), before, 'the migrated registry was saved over the old file');
      assert.deepEqual(parseJournal(fs.readFileSync(journalOf(file)), undefined).header, snapshotHeader(fs.readFileSync(file)), 'with a journal that follows it');

      await r.close();
      const reopened = await box.registry({ file });
      assert.equal(reopened.schemaVersion, LATEST_VERSION);
      assert.equal(reopened.migrated, undefined);
      assert.deepEqual(new RegistryRepositories(reopened).tags(7), ['migrated']);
    });
  }

  it('a migration that fails leaves the file byte-identical and throws', async () => {
    const file = box.file();
    // A stray table in the way of migration 2 makes it fail half-way.
    await writeOldRegistry(file, 1, 'CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const hash = sha256(file);
    await assertRejectsRegistryError(Registry.open({ file }), 'io', /Migration to schema 2/);
    assert.equal(sha256(file), hash);
    assert.ok(!fs.existsSync(journalOf(file)), 'and no journal was started');
  });
});

// ---- property: any sequence of operations reads back the same after close + reopen

type Op =
  | { t: 'runtime'; k: number }
  | { t: 'model'; rt: number; name: number; tag: number; digest: number | null; size: number | null; family: number | null }
  | { t: 'usage'; m: number; kind: 'load' | 'generate' | 'pull'; daysAgo: number; tokens: number | null }
  | { t: 'tags'; m: number; tags: string[] }
  | { t: 'note'; m: number; text: string }
  | { t: 'bench'; m: number; tps: number }
  | { t: 'audit'; outcome: 'ok' | 'error' }
  | { t: 'delete'; m: number }
  | { t: 'tick'; ms: number }
  | { t: 'flush' }
  | { t: 'compact' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('runtime' as const), k: fc.nat(3) }),
  fc.record({
    t: fc.constant('model' as const),
    rt: fc.nat(5),
    name: fc.nat(6),
    tag: fc.nat(2),
    digest: fc.option(fc.nat(4)),
    size: fc.option(fc.nat(1_000_000)),
    family: fc.option(fc.nat(2)),
  }),
  fc.record({ t: fc.constant('usage' as const), m: fc.nat(20), kind: fc.constantFrom('load' as const, 'generate' as const, 'pull' as const), daysAgo: fc.nat(40), tokens: fc.option(fc.nat(500)) }),
  fc.record({ t: fc.constant('tags' as const), m: fc.nat(20), tags: fc.array(fc.constantFrom('chat', 'code', 'fast', 'x'), { maxLength: 4 }) }),
  fc.record({ t: fc.constant('note' as const), m: fc.nat(20), text: fc.constantFrom('', '  ', 'hello', "it's; DROP TABLE models;--") }),
  fc.record({ t: fc.constant('bench' as const), m: fc.nat(20), tps: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ t: fc.constant('audit' as const), outcome: fc.constantFrom('ok' as const, 'error' as const) }),
  fc.record({ t: fc.constant('delete' as const), m: fc.nat(20) }),
  fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3 * DAY }) }),
  // Saves in between: journal appends, and now and then a new snapshot, so that a reopen reads a mix of both.
  fc.record({ t: fc.constant('flush' as const) }),
  fc.record({ t: fc.constant('compact' as const) }),
);

const KINDS = ['ollama', 'llamacpp', 'vllm', 'localai'] as const;

async function apply(registry: Registry, repos: RegistryRepositories, clock: Clock, ops: Op[]): Promise<void> {
  const runtimes: number[] = [];
  const models: number[] = [];
  const pick = (xs: number[], i: number) => (xs.length ? xs[i % xs.length] : undefined);
  for (const op of ops) {
    switch (op.t) {
      case 'runtime':
        runtimes.push(repos.upsertRuntime({ kind: KINDS[op.k], name: `rt ${op.k}`, endpoint: `http://host-${op.k}:1234` }));
        break;
      case 'model': {
        const runtimeId = pick(runtimes, op.rt);
        if (runtimeId === undefined) break;
        const r = repos.upsertModel({
          runtimeId,
          name: `model-${op.name}`,
          tag: `t${op.tag}`,
          digest: op.digest === null ? null : digestOf(op.digest),
          sizeBytes: op.size,
          family: op.family === null ? null : `fam${op.family}`,
        });
        if (r.created) models.push(r.id);
        break;
      }
      case 'usage': {
        const modelId = pick(models, op.m);
        if (modelId !== undefined) repos.recordUsage({ modelId, kind: op.kind, ts: clock.t - op.daysAgo * DAY, outputTokens: op.tokens });
        break;
      }
      case 'tags': {
        const modelId = pick(models, op.m);
        if (modelId !== undefined) repos.setTags(modelId, op.tags);
        break;
      }
      case 'note': {
        const modelId = pick(models, op.m);
        if (modelId !== undefined) repos.setNote(modelId, op.text);
        break;
      }
      case 'bench': {
        const modelId = pick(models, op.m);
        if (modelId !== undefined) repos.recordBenchmark({ modelId, hardware: 'cpu', promptSet: 'short', genTps: op.tps });
        break;
      }
      case 'audit':
        repos.audit({ operation: 'op', target: 'x', outcome: op.outcome, error: op.outcome === 'error' ? 'boom' : null });
        break;
      case 'delete': {
        const modelId = pick(models, op.m);
        if (modelId !== undefined && repos.deleteModel(modelId)) models.splice(models.indexOf(modelId), 1);
        break;
      }
      case 'tick':
        clock.advance(op.ms);
        break;
      case 'flush':
        await registry.flush();
        break;
      case 'compact':
        await registry.compact();
        break;
    }
  }
}

function observe(registry: Registry, repos: RegistryRepositories, now: number): unknown {
  const lists: Record<string, unknown> = {};
  for (const sort of ['name', 'size', 'lastUsed'] as const) {
    for (const descending of [false, true]) lists[`${sort}-${descending}`] = repos.listModels({ sort, descending, limit: 10_000 });
  }
  const perModel = repos.listModels({ limit: 10_000 }).map((m) => ({
    id: m.id,
    versions: repos.versions(m.id),
    usage: repos.usageByDay(m.id, 30, now),
    tags: repos.tags(m.id),
    note: repos.note(m.id),
    benchmarks: repos.benchmarks(m.id),
  }));
  const perRuntime = repos.listRuntimes().map((rt) => repos.listModels({ runtimeId: rt.id, sort: 'lastUsed', descending: true }));
  return { lists, perModel, perRuntime, runtimes: repos.listRuntimes(), audit: repos.recentAudit(1000), counts: registry.counts(), retention: repos.retention() };
}

describe('registry persistence round trip (unit)', () => {
  const box = sandbox();

  it('random operation sequences read back identically after close and reopen (journal replay, compactions, with and without a key)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), fc.constantFrom(undefined, 600, 4000), fc.boolean(), async (ops, compactAfterBytes, encrypted) => {
        const file = box.file();
        const key = encrypted ? randomBytes(32) : undefined;
        const clock = new Clock(Date.UTC(2026, 0, 15, 12), 1);
        const r = await Registry.open({ file, key, compactAfterBytes, persistDelayMs: 60_000, now: clock.now });
        const repos = new RegistryRepositories(r, clock.now);
        try {
          await apply(r, repos, clock, ops);
          const before = observe(r, repos, clock.t);
          await r.close();
          // The reopen below trusts the snapshot because its journal names it, and replays what the journal holds past it.
          assert.deepEqual(parseJournal(fs.readFileSync(journalOf(file)), key).header, snapshotHeader(fs.readFileSync(file)));
          const r2 = await Registry.open({ file, key, persistDelayMs: 60_000 });
          try {
            assert.equal(r2.recovery, undefined);
            assert.equal(r2.migrated, undefined);
            assert.deepEqual(observe(r2, new RegistryRepositories(r2, clock.now), clock.t), before);
          } finally {
            await r2.close();
          }
        } finally {
          await r.close();
          fs.rmSync(path.dirname(file), { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  });
});
